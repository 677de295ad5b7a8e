/**
 * RFC 8785 (JSON Canonicalization Scheme). Payloads are stored and hashed in this form so that
 * any language can recompute an event hash from the stored bytes.
 */

/** A JSON value as produced by `JSON.parse`. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Serialises a JSON value canonically: sorted keys (UTF-16 order), ES number form, no spaces. */
export function canonicalize(value: JsonValue): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('JSON numbers must be finite');
      // ES Number-to-String is exactly the form RFC 8785 prescribes; -0 serialises as 0.
      return Object.is(value, -0) ? '0' : String(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(canonicalize).join(',')}]`;
      // Default sort compares UTF-16 code units, which is what RFC 8785 requires.
      const keys = Object.keys(value).sort();
      const parts: string[] = [];
      for (const key of keys) {
        const member = value[key];
        if (member === undefined) continue;
        parts.push(`${JSON.stringify(key)}:${canonicalize(member)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new TypeError(`not a JSON value: ${typeof value}`);
  }
}

/**
 * Parses UTF-8 JSON bytes and returns their canonical text. Throws `SyntaxError` with a short
 * message on invalid UTF-8 or JSON. Empty input means JSON `null`.
 */
export function canonicalizeJsonBytes(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'null';
  const text = utf8.decode(bytes);
  return canonicalize(JSON.parse(text) as JsonValue);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
