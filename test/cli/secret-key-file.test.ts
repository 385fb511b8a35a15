import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSecretBox, decodeSecretKey, keyIdOf } from '../../src/auth/secret-box.js';
import { readOrCreateKeyFile } from '../../src/auth/secret-key-file.js';
import type { StoreConfig } from '../../src/config.js';
import { createStore } from '../../src/db/database.js';
import { lookupUrl } from '../helpers/auth-cases.js';
import {
  cleanEnv,
  createTempPg,
  killAll,
  killTestChildren,
  postJson,
  runCli,
  type Served,
  startServe,
  type TempPg,
} from '../helpers/cli.js';
import { STORES } from '../helpers/stores.js';
import { ADMIN_TOKEN } from '../helpers/test-app.js';

// `loyalty serve` as contract section 6 starts it, without LOYALTY_SECRET_KEY: the sealing key comes
// from data/secret.key under the working directory, made on first start, kept across restarts.
// Every run here has a temporary working directory, so no key file lands in the checkout.

afterEach(() => killTestChildren());
afterAll(() => killAll());

const NO_KEY = { LOYALTY_SECRET_KEY: '' };

for (const kind of STORES) {
  describe(`the key file on ${kind}`, () => {
    let cwd: string;
    let pg: TempPg | undefined;
    let env: Record<string, string>;
    let storeConfig: StoreConfig;

    beforeAll(async () => {
      cwd = mkdtempSync(path.join(tmpdir(), 'key-file-'));
      if (kind === 'postgres') {
        pg = await createTempPg();
        env = { ...NO_KEY, DATABASE_URL: pg.url, LOYALTY_ADMIN_TOKEN: ADMIN_TOKEN };
        storeConfig = { kind: 'postgres', connectionString: pg.url, poolSize: 2 };
      } else {
        // No DATABASE_URL: the quick start's default file, data/loyalty.db beside data/secret.key.
        env = { ...NO_KEY, LOYALTY_ADMIN_TOKEN: ADMIN_TOKEN };
        storeConfig = { kind: 'sqlite', filename: path.join(cwd, 'data', 'loyalty.db') };
      }
    }, 60_000);
    afterAll(async () => {
      await pg?.drop();
      rmSync(cwd, { recursive: true, force: true });
    });

    it('serve starts without LOYALTY_SECRET_KEY, makes a 0600 key file, seals with it, and a restart keeps it', async () => {
      const file = path.join(cwd, 'data', 'secret.key');
      expect(existsSync(file)).toBe(false);
      let served: Served = await startServe(env, { cwd });
      const key = readFileSync(file, 'utf8').trim();
      expect(decodeSecretKey(key)).toHaveLength(32);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const warning = served.logs().find((l) => String(l.msg).includes(file));
      expect(warning?.level).toBe(40);
      expect(warning?.msg).toMatch(/back it up apart from the store.*set LOYALTY_SECRET_KEY/s);
      expect(warning?.msg).not.toContain(key);

      const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
      const org = await postJson(`${served.url}/admin/v1/orgs`, { name: 'Key file' }, admin);
      expect(org.status, JSON.stringify(org.body)).toBe(201);
      const customers = await postJson(
        `${served.url}/admin/v1/orgs/${org.body.id}/customers`,
        { customers: [{ mobile: '9100' }] },
        admin,
      );
      expect(customers.status).toBe(201);
      const customerId = customers.body.customers[0].id as number;
      const client = { key: `kf-${kind}`, secret: 'key-file-secret', customerAccess: 'READ' };
      expect(
        (await postJson(`${served.url}/admin/v1/orgs/${org.body.id}/api-clients`, client, admin)).status,
      ).toBe(201);
      const issued = await postJson(`${served.url}/v3/oauth/token/generate`, {
        key: client.key,
        secret: client.secret,
      });
      expect(issued.status, JSON.stringify(issued.body)).toBe(200);
      const token = issued.body.data.accessToken as string;
      const lookup = async (url: string) =>
        (await fetch(`${url}${lookupUrl('id', customerId)}`, { headers: { 'x-cap-api-oauth-token': token } }))
          .status;
      expect(await lookup(served.url)).toBe(200);
      if (kind === 'sqlite') {
        // The demo API client of the quick start answers the token flow too.
        const demo = await postJson(`${served.url}/v3/oauth/token/generate`, {
          key: 'demo-client',
          secret: 'demo-client-secret',
        });
        expect(demo.status).toBe(200);
      }
      expect((await served.stop()).code).toBe(0);

      // The store holds the signing key sealed with the file's key: not the key itself.
      const store = createStore(storeConfig);
      try {
        const rows = await store.db
          .selectFrom('oauth_keys')
          .selectAll()
          .where('org_id', '=', org.body.id)
          .execute();
        expect(rows).toHaveLength(1);
        const sealed = rows[0]?.sealed_secret as string;
        expect(sealed.startsWith(`sealed:v1:${keyIdOf(key)}:`)).toBe(true);
        const signingKey = createSecretBox(key).open('oauth-signing-key', org.body.id, sealed);
        expect(sealed).not.toContain(signingKey);
        await expect(jwtVerify(token, Buffer.from(signingKey, 'base64url'))).resolves.toBeDefined();
      } finally {
        await store.destroy();
      }

      served = await startServe(env, { cwd });
      expect(readFileSync(file, 'utf8').trim()).toBe(key);
      expect(served.logs().some((l) => String(l.msg).includes(file))).toBe(false);
      // A token signed before the restart still verifies.
      expect(await lookup(served.url)).toBe(200);
      expect((await served.stop()).code).toBe(0);
    });

    it('migrate makes the key file where serve would; secret rotate then seals with its key', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'key-migrate-'));
      // A store of its own: the suite's is sealed with the other test's key file.
      const fresh = kind === 'postgres' ? await createTempPg() : undefined;
      try {
        const dbEnv: Record<string, string> = fresh ? { DATABASE_URL: fresh.url } : {};
        const file = path.join(dir, 'data', 'secret.key');
        const migrated = await runCli(['migrate'], cleanEnv({ ...NO_KEY, ...dbEnv }), 60_000, dir);
        expect(migrated.code, migrated.stderr).toBe(0);
        expect(migrated.stderr).toContain(`made a new sealing key in ${file}`);
        const key = readFileSync(file, 'utf8').trim();
        const rotated = await runCli(['secret', 'rotate'], cleanEnv({ ...NO_KEY, ...dbEnv }), 60_000, dir);
        expect(rotated.code, rotated.stderr).toBe(0);
        expect(rotated.stdout).toContain(`again with key ${keyIdOf(key)}`);
        // The file was there: no second warning.
        expect(rotated.stderr).not.toContain('made a new sealing key');
      } finally {
        await fresh?.drop();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('a malformed key file stops start-up, naming the file and never its content', async () => {
      const file = path.join(cwd, 'elsewhere', 'broken.key');
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, 'this-is-not-a-sealing-key\n', { mode: 0o600 });
      const r = await runCli(
        ['serve'],
        cleanEnv({ ...env, LOYALTY_SECRET_KEY_FILE: file, HOST: '127.0.0.1', PORT: '0' }),
        60_000,
        cwd,
      );
      expect(r.code, r.stderr).toBe(78);
      expect(r.stderr).toContain(
        `${file} (the sealing key, used when LOYALTY_SECRET_KEY is not set) is not a key`,
      );
      expect(r.stderr + r.stdout).not.toContain('this-is-not-a-sealing-key');
    });
  });
}

describe('the key file without a file store', () => {
  it('serve on sqlite::memory: without LOYALTY_SECRET_KEY starts and writes no key file', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'key-memory-'));
    try {
      const served = await startServe({ ...NO_KEY, DATABASE_URL: 'sqlite::memory:' }, { cwd });
      const demo = await postJson(`${served.url}/v3/oauth/token/generate`, {
        key: 'demo-client',
        secret: 'demo-client-secret',
      });
      expect(demo.status).toBe(200);
      expect((await served.stop()).code).toBe(0);
      expect(existsSync(path.join(cwd, 'data'))).toBe(false);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('processes making the key file at once all end with the one key it holds', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'key-race-'));
    try {
      const file = path.join(dir, 'data', 'secret.key');
      const results = await Promise.all(Array.from({ length: 8 }, () => readOrCreateKeyFile(file)));
      const key = readFileSync(file, 'utf8').trim();
      expect(results.filter((r) => r.created)).toHaveLength(1);
      for (const r of results) expect(r.key).toBe(key);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      // Only the key file is left: every temporary file was removed.
      expect(readdirSync(path.dirname(file))).toStrictEqual(['secret.key']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
