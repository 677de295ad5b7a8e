import { describe, expect, it } from 'vitest';
import { defaultPoolSize, loadServerConfig } from '../src/config.js';

describe('server configuration', () => {
  it('sizes the pool at two connections per core, from 4 to 16', () => {
    expect([1, 2, 3, 4, 8, 64].map((cores) => defaultPoolSize(cores))).toEqual([4, 4, 6, 8, 16, 16]);
    expect(loadServerConfig().poolSize).toBe(defaultPoolSize());
  });

  it('takes the pool size from AETHERIS_POOL_SIZE or the flag, and refuses one below 1', () => {
    const saved = process.env.AETHERIS_POOL_SIZE;
    try {
      process.env.AETHERIS_POOL_SIZE = '7';
      expect(loadServerConfig().poolSize).toBe(7);
      expect(loadServerConfig({ poolSize: '3' }).poolSize).toBe(3);
      process.env.AETHERIS_POOL_SIZE = '0';
      expect(() => loadServerConfig()).toThrow(/invalid configuration: poolSize/);
    } finally {
      if (saved === undefined) delete process.env.AETHERIS_POOL_SIZE;
      else process.env.AETHERIS_POOL_SIZE = saved;
    }
  });

  it('prepares 256 statements per connection unless AETHERIS_PREPARED_STATEMENTS says otherwise (0: none)', () => {
    const saved = process.env.AETHERIS_PREPARED_STATEMENTS;
    try {
      delete process.env.AETHERIS_PREPARED_STATEMENTS;
      expect(loadServerConfig().preparedStatements).toBe(256);
      process.env.AETHERIS_PREPARED_STATEMENTS = '0';
      expect(loadServerConfig().preparedStatements).toBe(0);
      process.env.AETHERIS_PREPARED_STATEMENTS = '-1';
      expect(() => loadServerConfig()).toThrow(/invalid configuration: preparedStatements/);
    } finally {
      if (saved === undefined) delete process.env.AETHERIS_PREPARED_STATEMENTS;
      else process.env.AETHERIS_PREPARED_STATEMENTS = saved;
    }
  });
});
