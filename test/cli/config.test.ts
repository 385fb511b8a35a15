import { describe, expect, it } from 'vitest';
import { ConfigError, describeConfig, loadConfig } from '../../src/config.js';

describe('configuration', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      demo: true,
      logLevel: 'info',
      adminToken: undefined,
    });
    expect(config.store).toEqual({ kind: 'sqlite', filename: 'data/loyalty.db' });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names every bad variable at once', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'abc',
        DATABASE_URL: 'mysql://x',
        LOG_LEVEL: 'loud',
        LOYALTY_DEMO: 'maybe',
        LOYALTY_JWT_SECRET: 'short',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'DATABASE_URL', 'LOG_LEVEL', 'LOYALTY_DEMO', 'LOYALTY_JWT_SECRET']) {
      expect(problems).toContain(name);
    }
  });

  it('reads the scaling settings: a transaction pooler, a direct URL for LISTEN, Redis; shown without passwords', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://loyalty:pw1@bouncer:6432,other:6432/loyalty?target_session_attrs=read-write',
      LOYALTY_PG_POOLER: 'transaction',
      LOYALTY_PG_LISTEN_URL: 'postgres://loyalty:pw2@db:5432/loyalty',
      REDIS_URL: 'redis://:pw3@cache:6379/2',
    });
    expect(config.store).toMatchObject({
      kind: 'postgres',
      pooler: 'transaction',
      listenConnectionString: 'postgres://loyalty:pw2@db:5432/loyalty',
    });
    expect(config.redisUrl).toBe('redis://:pw3@cache:6379/2');
    const shown = JSON.stringify(describeConfig(config));
    for (const secret of ['pw1', 'pw2', 'pw3']) expect(shown).not.toContain(secret);
    expect(shown).toContain('redis://:***@cache:6379/2');
    // Nothing of PostgreSQL's applies to SQLite, and no pooler is the default.
    expect(loadConfig({ LOYALTY_PG_POOLER: 'transaction' }).store).toEqual({
      kind: 'sqlite',
      filename: 'data/loyalty.db',
    });
    expect(loadConfig({ DATABASE_URL: 'postgres://db/x' }).store).toEqual({
      kind: 'postgres',
      connectionString: 'postgres://db/x',
      poolSize: 10,
    });

    let error: unknown;
    try {
      loadConfig({ LOYALTY_PG_POOLER: 'session', LOYALTY_PG_LISTEN_URL: 'mysql://x', REDIS_URL: 'http://x' });
    } catch (err) {
      error = err;
    }
    expect((error as ConfigError).problems).toStrictEqual([
      'REDIS_URL must start with redis:// or rediss://',
      'LOYALTY_PG_POOLER must be none or transaction (got "session")',
      'LOYALTY_PG_LISTEN_URL must start with postgres://',
    ]);
  });

  it('takes a LOYALTY_SECRET_KEY of 32 bytes in base64 only, never echoes one, and shows its key id', () => {
    for (const bad of ['short', `${'x'.repeat(42)}!`, Buffer.alloc(31).toString('base64')]) {
      let error: unknown;
      try {
        loadConfig({ LOYALTY_SECRET_KEY: `${'AAAA'.repeat(10)}AAA`, LOYALTY_SECRET_KEY_PREVIOUS: bad });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toStrictEqual([
        'LOYALTY_SECRET_KEY_PREVIOUS must be 32 bytes in base64 (43 or 44 characters); make one with: loyalty secret generate',
      ]);
    }
    const key = Buffer.alloc(32, 7).toString('base64');
    const config = loadConfig({ LOYALTY_SECRET_KEY: key });
    expect(config.secretKey).toBe(key);
    expect(loadConfig({}).secretKey).toBeUndefined();
    const shown = JSON.stringify(describeConfig(config));
    expect(shown).not.toContain(key);
    expect(shown).toMatch(/"secretKey":"\(set, key id [0-9a-f]{8}\)"/);
  });

  it('reads every store form', () => {
    expect(loadConfig({ DATABASE_URL: 'sqlite::memory:' }).store).toEqual({
      kind: 'sqlite',
      filename: ':memory:',
    });
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/d', LOYALTY_PG_POOL_SIZE: '4' }).store).toEqual({
      kind: 'postgres',
      connectionString: 'postgres://u@h/d',
      poolSize: 4,
    });
  });

  it('describes the configuration with every secret masked', () => {
    const text = JSON.stringify(
      describeConfig(
        loadConfig({
          DATABASE_URL: 'postgres://user:db-password@host:5432/db',
          LOYALTY_ADMIN_TOKEN: 'admin-token-value-0123456789abcdef',
          LOYALTY_JWT_SECRET: 'jwt-secret-value-0123456789abcdef0123',
        }),
      ),
    );
    expect(text).not.toContain('db-password');
    expect(text).not.toContain('admin-token-value');
    expect(text).not.toContain('jwt-secret-value');
    expect(text).toContain('postgres://user:***@host:5432/db');
    expect(text).toContain('(set, 34 bytes)');
  });
});
