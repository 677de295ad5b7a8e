import { describe, expect, it } from 'vitest';
import { canonicalize, canonicalizeJsonBytes } from '../../src/domain/canonical-json.js';

describe('RFC 8785 canonical JSON', () => {
  it('sorts keys by UTF-16 code units and drops whitespace', () => {
    // RFC 8785 §3.2.3 example of property sorting.
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    expect(canonicalize(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('serialises numbers in ECMAScript form (RFC 8785 §3.2.2.3)', () => {
    const cases: [number, string][] = [
      [0, '0'],
      [-0, '0'],
      [1e21, '1e+21'],
      [1e-7, '1e-7'],
      [333333333.3333333, '333333333.3333333'],
      [4.5, '4.5'],
      [2e-3, '0.002'],
      [0.000001, '0.000001'],
      [-1.5e300, '-1.5e+300'],
      [9007199254740991, '9007199254740991'],
    ];
    for (const [value, text] of cases) expect(canonicalize(value)).toBe(text);
  });

  it('escapes strings minimally and keeps non-ASCII as UTF-8', () => {
    expect(canonicalize('\u000f\n"\\é\u2028')).toBe('"\\u000f\\n\\"\\\\é\u2028"');
  });

  it('round-trips bytes to the same canonical text regardless of input formatting', () => {
    const a = canonicalizeJsonBytes(Buffer.from('{ "b" : [1.0, 2e0, {"y":null,"x":true}], "a": "x" }'));
    const b = canonicalizeJsonBytes(Buffer.from('{"a":"x","b":[1,2,{"x":true,"y":null}]}'));
    expect(a).toBe(b);
    expect(a).toBe('{"a":"x","b":[1,2,{"x":true,"y":null}]}');
    expect(canonicalizeJsonBytes(Buffer.alloc(0))).toBe('null');
  });

  it('rejects invalid UTF-8 and invalid JSON', () => {
    expect(() => canonicalizeJsonBytes(Buffer.from([0x7b, 0xff, 0x7d]))).toThrow();
    expect(() => canonicalizeJsonBytes(Buffer.from('{"a":}'))).toThrow();
  });
});
