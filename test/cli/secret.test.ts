import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { decodeSecretKey, generateSecretKey, keyIdOf } from '../../src/auth/secret-box.js';
import { DEFAULT_EVENTS_CONFIG, defineConfig, type StoreConfig } from '../../src/config.js';
import { createStore, type Store } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrator.js';
import { cleanEnv, killAll, killTestChildren, runCli } from '../helpers/cli.js';
import { openTestStore, STORES } from '../helpers/stores.js';
import { ADMIN_TOKEN } from '../helpers/test-app.js';

// `loyalty secret generate|rotate` and `loyalty serve` without its key, as an operator runs them
// (dist/, which the global setup builds).

afterEach(() => killTestChildren());
afterAll(() => killAll());

describe('loyalty secret generate', () => {
  it('prints a new key each time, and nothing else on stdout', async () => {
    const runs = [
      await runCli(['secret', 'generate'], cleanEnv({})),
      await runCli(['secret', 'generate'], cleanEnv({})),
    ];
    const keys = runs.map((r) => {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('LOYALTY_SECRET_KEY');
      return r.stdout.trim();
    });
    for (const key of keys) expect(decodeSecretKey(key)).toHaveLength(32);
    expect(keys[0]).not.toBe(keys[1]);
  });

  it('refuses an unknown action with the usage', async () => {
    const r = await runCli(['secret', 'show'], cleanEnv({}));
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('unknown action "show"');
    expect(r.stderr).toContain('loyalty secret <action>');
  });
});

for (const kind of STORES) {
  describe(`loyalty serve and secret rotate on ${kind}`, () => {
    const K1 = generateSecretKey();
    const K2 = generateSecretKey();
    let config: StoreConfig;
    let store: Store;
    let url: string;
    let dispose: () => Promise<void>;

    beforeAll(async () => {
      if (kind === 'postgres') {
        const t = await openTestStore(kind);
        ({ config, store, dispose } = t);
        url = (config as { connectionString: string }).connectionString;
      } else {
        const dir = mkdtempSync(path.join(tmpdir(), 'secret-cli-'));
        config = { kind: 'sqlite', filename: path.join(dir, 'loyalty.db') };
        store = createStore(config);
        await migrateToLatest(store.db);
        url = `sqlite:${config.filename}`;
        dispose = async () => {
          await store.destroy();
          rmSync(dir, { recursive: true, force: true });
        };
      }
      // A store with a sealed signing key and a sealed webhook secret, sealed with K1.
      const app = await buildApp(
        defineConfig({
          store: config,
          adminToken: ADMIN_TOKEN,
          secretKey: K1,
          events: { ...DEFAULT_EVENTS_CONFIG, deliver: false, allowPrivate: true },
        }),
        { store },
      );
      const post = async (path: string, body: unknown) =>
        app.inject({
          method: 'POST',
          url: path,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
          payload: JSON.stringify(body),
        });
      const orgId = (await post('/admin/v1/orgs', { name: 'Rotate' })).json().id;
      await post(`/admin/v1/orgs/${orgId}/api-clients`, {
        key: `rot-${kind}`,
        secret: 's3cret',
        customerAccess: 'READ',
      });
      expect(
        (await post('/v3/oauth/token/generate', { key: `rot-${kind}`, secret: 's3cret' })).statusCode,
      ).toBe(200);
      expect(
        (await post(`/admin/v1/orgs/${orgId}/webhooks`, { url: 'http://127.0.0.1:9/h' })).statusCode,
      ).toBe(201);
      await app.close();
    }, 60_000);
    afterAll(() => dispose?.());

    // Changed with the key file: without LOYALTY_SECRET_KEY, serve no longer exits at once for want of
    // a key (contract section 6 starts it without one); it makes data/secret.key, whose new key cannot
    // open what K1 sealed, and refuses for that reason, naming the file and the way out.
    it('serve exits 78 with a key file of its own, and with a key that did not seal the store, saying why', async () => {
      const cwd = mkdtempSync(path.join(tmpdir(), 'secret-cwd-'));
      try {
        const own = await runCli(
          ['serve'],
          cleanEnv({ DATABASE_URL: url, LOYALTY_SECRET_KEY: '', PORT: '0' }),
          60_000,
          cwd,
        );
        const file = path.join(cwd, 'data', 'secret.key');
        expect(own.code, own.stderr).toBe(78);
        const fileKey = readFileSync(file, 'utf8').trim();
        expect(own.stderr).toContain(
          `the key in ${file} (key id ${keyIdOf(fileKey)}) does not open 2 of the store's 2 sealed ` +
            `secrets (sealed with key id ${keyIdOf(K1)}`,
        );
        expect(own.stderr).toContain("set LOYALTY_SECRET_KEY to the deployment's key");
        expect(own.stderr).not.toContain(fileKey);
      } finally {
        rmSync(cwd, { recursive: true, force: true });
      }
      const wrong = await runCli(
        ['serve'],
        cleanEnv({ DATABASE_URL: url, LOYALTY_SECRET_KEY: K2, PORT: '0' }),
      );
      expect(wrong.code, wrong.stderr).toBe(78);
      expect(wrong.stderr).toContain(
        `does not open 2 of the store's 2 sealed secrets (sealed with key id ${keyIdOf(K1)}`,
      );
      const malformed = await runCli(
        ['serve'],
        cleanEnv({ DATABASE_URL: url, LOYALTY_SECRET_KEY: 'not-a-key' }),
      );
      expect(malformed.code).toBe(78);
      expect(malformed.stderr).toContain('LOYALTY_SECRET_KEY must be 32 bytes in base64');
      expect(malformed.stderr).not.toContain('not-a-key');
    });

    it('secret rotate moves every secret to the new key, and refuses without the old one', async () => {
      const without = await runCli(
        ['secret', 'rotate'],
        cleanEnv({ DATABASE_URL: url, LOYALTY_SECRET_KEY: K2 }),
      );
      expect(without.code, without.stderr).toBe(78);
      expect(without.stderr).toContain('LOYALTY_SECRET_KEY_PREVIOUS');
      const rotated = await runCli(
        ['secret', 'rotate'],
        cleanEnv({ DATABASE_URL: url, LOYALTY_SECRET_KEY: K2, LOYALTY_SECRET_KEY_PREVIOUS: K1 }),
      );
      expect(rotated.code, rotated.stderr).toBe(0);
      expect(rotated.stdout).toContain(`sealed 2 secret(s) again with key ${keyIdOf(K2)}; 0 already were`);
      const again = await runCli(
        ['secret', 'rotate'],
        cleanEnv({ DATABASE_URL: url, LOYALTY_SECRET_KEY: K2 }),
      );
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toContain('sealed 0 secret(s) again');
      const config = await runCli(['config'], cleanEnv({ DATABASE_URL: url, LOYALTY_SECRET_KEY: K2 }));
      expect(config.stdout).toContain(`(set, key id ${keyIdOf(K2)})`);
      expect(config.stdout).not.toContain(K2);
    });
  });
}
