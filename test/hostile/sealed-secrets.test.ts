import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { decodeJwt, jwtVerify } from 'jose';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createSecretBox, generateSecretKey, keyIdOf, SecretKeyError } from '../../src/auth/secret-box.js';
import { checkSealedSecrets, resealSecrets } from '../../src/auth/secret-keys.service.js';
import { ConfigError, DEFAULT_EVENTS_CONFIG, defineConfig, type StoreConfig } from '../../src/config.js';
import { createStore, type Store } from '../../src/db/database.js';
import { migrateDown, migrateToLatest } from '../../src/db/migrator.js';
import { startServer } from '../../src/server.js';
import { lookupUrl, signHs256 } from '../helpers/auth-cases.js';
import { describeEachStoreKind } from '../helpers/each-store.js';
import { openTestStore, type StoreKind } from '../helpers/stores.js';
import { ADMIN_TOKEN } from '../helpers/test-app.js';

// Issue 15: a copy of the store (a backup) must not be a key to mint tokens or sign webhooks. The
// keys that sign OAuth tokens and the webhook secrets are sealed with LOYALTY_SECRET_KEY (or, unset, the
// key file); a server with another key does not start; a rotation moves them to a new key.

interface FileStore {
  config: StoreConfig;
  store: Store;
  /** The bytes of the store's files (SQLite only; PostgreSQL's rows are read instead). */
  files(): Buffer[];
  dispose(): Promise<void>;
}

/** A store that a second process (startServer) can open too: a file for SQLite. */
async function openStore(kind: StoreKind): Promise<FileStore> {
  if (kind === 'postgres') {
    const t = await openTestStore(kind);
    return { config: t.config, store: t.store, files: () => [], dispose: t.dispose };
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'sealed-'));
  const filename = path.join(dir, 'loyalty.db');
  const config: StoreConfig = { kind: 'sqlite', filename };
  const store = createStore(config);
  await migrateToLatest(store.db);
  return {
    config,
    store,
    files: () => [filename, `${filename}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)),
    dispose: async () => {
      await store.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const configFor = (store: StoreConfig, secretKey: string | undefined, previousSecretKey?: string) =>
  defineConfig({
    store,
    adminToken: ADMIN_TOKEN,
    secretKey,
    previousSecretKey,
    events: { ...DEFAULT_EVENTS_CONFIG, deliver: false, allowPrivate: true },
  });

interface Seeded {
  orgId: number;
  customerId: number;
  token: string;
  webhookSecret: string;
}

/** An org with a customer, an API client and its token (so a signing key), and a webhook. */
async function seed(app: FastifyInstance): Promise<Seeded> {
  const admin = async (url: string, body: unknown) => {
    const res = await app.inject({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  };
  const orgId = (await admin('/admin/v1/orgs', { name: 'Sealed' })).id as number;
  const customerId = (await admin(`/admin/v1/orgs/${orgId}/customers`, { customers: [{ mobile: '9100' }] }))
    .customers[0].id as number;
  const key = `sealed-client-${orgId}`;
  await admin(`/admin/v1/orgs/${orgId}/api-clients`, {
    key,
    secret: 'sealed-secret-1',
    customerAccess: 'READ',
  });
  const token = await app.inject({
    method: 'POST',
    url: '/v3/oauth/token/generate',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ key, secret: 'sealed-secret-1' }),
  });
  expect(token.statusCode, token.body).toBe(200);
  const hook = await admin(`/admin/v1/orgs/${orgId}/webhooks`, { url: 'http://127.0.0.1:9/hook' });
  return { orgId, customerId, token: token.json().data.accessToken, webhookSecret: hook.secret };
}

/** The status of a lookup made with `token`, in process or against a listening server. */
async function lookupStatus(target: FastifyInstance | string, s: Seeded, token = s.token): Promise<number> {
  const url = lookupUrl('id', s.customerId);
  const headers = { 'x-cap-api-oauth-token': token };
  if (typeof target === 'string') return (await fetch(`${target}${url}`, { headers })).status;
  return (await target.inject({ method: 'GET', url, headers })).statusCode;
}

const sealedRows = async (store: Store) => ({
  keys: await store.db.selectFrom('oauth_keys').selectAll().execute(),
  hooks: await store.db.selectFrom('webhooks').select(['org_id', 'id', 'sealed_secret']).execute(),
});

describeEachStoreKind(
  'secrets sealed at rest',
  (kind) => {
    const K1 = generateSecretKey();
    const K2 = generateSecretKey();
    let s: FileStore;
    let seeded: Seeded;

    beforeAll(async () => {
      s = await openStore(kind);
      const app = await buildApp(configFor(s.config, K1), { store: s.store });
      seeded = await seed(app);
      await app.close();
    }, 60_000);
    afterAll(() => s?.dispose());

    it('keeps a signing key and a webhook secret sealed: the store holds neither, and its text signs nothing', async () => {
      const { keys, hooks } = await sealedRows(s.store);
      expect(keys).toHaveLength(1);
      expect(hooks).toHaveLength(1);
      const stored = keys[0]?.sealed_secret as string;
      expect(stored).toMatch(new RegExp(`^sealed:v1:${keyIdOf(K1)}:`));
      expect(hooks[0]?.sealed_secret).toMatch(new RegExp(`^sealed:v1:${keyIdOf(K1)}:`));

      // The control: the key opened with LOYALTY_SECRET_KEY is the one that signed the token.
      const signingKey = createSecretBox(K1).open('oauth-signing-key', seeded.orgId, stored);
      await expect(jwtVerify(seeded.token, Buffer.from(signingKey, 'base64url'))).resolves.toBeDefined();
      // Whoever reads the store (a backup) gets neither the key nor the webhook secret...
      const secretPart = seeded.webhookSecret.slice('whsec_'.length);
      const text = JSON.stringify({ keys, hooks });
      for (const secret of [
        signingKey,
        secretPart,
        Buffer.from(secretPart, 'base64').toString('base64url'),
      ]) {
        expect(text).not.toContain(secret);
        for (const file of s.files()) expect(file.includes(secret)).toBe(false);
      }
      if (kind === 'sqlite') expect(s.files().length).toBeGreaterThan(0);
      // ...and a token signed with what the store holds, for 30 years, is refused.
      const claims = decodeJwt(seeded.token);
      const now = Math.floor(Date.now() / 1000);
      const forgedClaims = { ...claims, iat: now, exp: now + 30 * 365 * 86_400 };
      const app = await buildApp(configFor(s.config, K1), { store: s.store });
      try {
        for (const key of [Buffer.from(stored, 'base64url'), new TextEncoder().encode(stored)]) {
          const forged = await signHs256(forgedClaims, new Uint8Array(key), 'k1');
          expect(await lookupStatus(app, seeded, forged)).toBe(401);
        }
        expect(await lookupStatus(app, seeded)).toBe(200);
      } finally {
        await app.close();
      }
    });

    // Changed with the key file: without LOYALTY_SECRET_KEY a server takes its key from a file (made
    // on first start), so a store sealed with another key is refused for that key, naming the file.
    it('does not start with a key file of its own, nor with another key, and says why; with its key it does', async () => {
      const listen = (secretKey: string | undefined, previous?: string) =>
        startServer({ ...configFor(s.config, secretKey, previous), port: 0 });
      const dir = mkdtempSync(path.join(tmpdir(), 'sealed-key-'));
      const secretKeyFile = path.join(dir, 'data', 'secret.key');
      try {
        const own = startServer({ ...configFor(s.config, undefined), secretKeyFile, port: 0 });
        await expect(own).rejects.toThrow(SecretKeyError);
        const fileKey = readFileSync(secretKeyFile, 'utf8').trim();
        await expect(own).rejects.toThrow(
          `the key in ${secretKeyFile} (key id ${keyIdOf(fileKey)}) does not open 2 of the store's 2 sealed secrets`,
        );
        await expect(own).rejects.toThrow("set LOYALTY_SECRET_KEY to the deployment's key");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      // Built in code with neither a key nor a file: nothing to seal with.
      const missing = listen(undefined);
      await expect(missing).rejects.toThrow(ConfigError);
      await expect(missing).rejects.toThrow(/LOYALTY_SECRET_KEY is not set.*loyalty secret generate/s);
      const wrong = listen(K2);
      await expect(wrong).rejects.toThrow(SecretKeyError);
      await expect(wrong).rejects.toThrow(
        new RegExp(
          `key id ${keyIdOf(K2)}\\).*does not open 2 of the store's 2 sealed secrets \\(sealed with key id ${keyIdOf(K1)}`,
        ),
      );
      const server = await listen(K1);
      try {
        expect(await lookupStatus(server.url, seeded)).toBe(200);
      } finally {
        await server.close();
      }
    });

    it('rotates: with the old key as previous it starts and tokens hold; rotate moves every secret to the new key', async () => {
      const during = await startServer({ ...configFor(s.config, K2, K1), port: 0 });
      try {
        expect(await lookupStatus(during.url, seeded)).toBe(200);
      } finally {
        await during.close();
      }
      // A rotation without the old key cannot open what it sealed: it changes nothing.
      await expect(resealSecrets(s.store, createSecretBox(K2))).rejects.toThrow(SecretKeyError);
      expect((await sealedRows(s.store)).keys[0]?.sealed_secret).toMatch(`:${keyIdOf(K1)}:`);

      expect(await resealSecrets(s.store, createSecretBox(K2, K1))).toStrictEqual({ resealed: 2, kept: 0 });
      expect(await checkSealedSecrets(s.store, createSecretBox(K2))).toStrictEqual({
        current: 2,
        previous: 0,
      });
      const { keys, hooks } = await sealedRows(s.store);
      const box = createSecretBox(K2);
      expect(box.open('webhook-secret', seeded.orgId, hooks[0]?.sealed_secret as string)).toBe(
        seeded.webhookSecret,
      );
      await expect(
        jwtVerify(
          seeded.token,
          Buffer.from(
            box.open('oauth-signing-key', seeded.orgId, keys[0]?.sealed_secret as string),
            'base64url',
          ),
        ),
      ).resolves.toBeDefined();

      await expect(startServer({ ...configFor(s.config, K1), port: 0 })).rejects.toThrow(SecretKeyError);
      const after = await startServer({ ...configFor(s.config, K2), port: 0 });
      try {
        expect(await lookupStatus(after.url, seeded)).toBe(200);
      } finally {
        await after.close();
      }
    });

    it('a value moved to another org does not open', async () => {
      const { keys } = await sealedRows(s.store);
      expect(() =>
        createSecretBox(K2).open('oauth-signing-key', seeded.orgId + 1, keys[0]?.sealed_secret as string),
      ).toThrow(/does not open/);
    });

    // The sealing migration and those after it.
    const AFTER_SEALING = [
      '2026-11-30-0003-sealed-secrets',
      '2026-11-30-0004-jobs',
      '2026-11-30-0005-rate-limits',
      '2026-11-30-0006-management',
      '2026-11-30-0007-console-users',
      '2026-11-30-0008-lean-hot-path',
    ];

    it('upgrades a store that holds its secrets in the clear; without the key the migration changes nothing and says why', async () => {
      const old = await openStore(kind);
      try {
        const app = await buildApp(configFor(old.config, K1), { store: old.store });
        const before = await seed(app);
        await app.close();
        // Down to the schema before sealing: the secrets are back in the clear, as an older version kept them.
        for (const name of AFTER_SEALING.toReversed()) {
          expect(await migrateDown(old.store.db, { secrets: createSecretBox(K1) })).toStrictEqual([name]);
        }
        const db = old.store.db as unknown as Kysely<any>;
        const clear = async () => ({
          keys: await db.selectFrom('oauth_keys').select(['org_id', 'secret']).execute(),
          hooks: await db.selectFrom('webhooks').select(['org_id', 'secret']).execute(),
        });
        const plain = await clear();
        expect(Buffer.from(plain.keys[0]?.secret, 'base64url')).toHaveLength(32);
        expect(plain.hooks[0]?.secret).toBe(before.webhookSecret);

        const refused = migrateToLatest(old.store.db);
        await expect(refused).rejects.toThrow(
          /LOYALTY_SECRET_KEY is not set.*holds 2 secret.*nothing was changed/s,
        );
        expect(await clear()).toStrictEqual(plain);

        expect(await migrateToLatest(old.store.db, { secrets: createSecretBox(K1) })).toStrictEqual(
          AFTER_SEALING,
        );
        const { keys, hooks } = await sealedRows(old.store);
        expect(keys[0]?.sealed_secret).toMatch(/^sealed:v1:/);
        expect(
          createSecretBox(K1).open('oauth-signing-key', before.orgId, keys[0]?.sealed_secret as string),
        ).toBe(plain.keys[0]?.secret);
        expect(
          createSecretBox(K1).open('webhook-secret', before.orgId, hooks[0]?.sealed_secret as string),
        ).toBe(before.webhookSecret);
        // The token issued before the upgrade is still good: the signing key itself did not change.
        const server = await startServer({ ...configFor(old.config, K1), port: 0 });
        try {
          expect(await lookupStatus(server.url, before)).toBe(200);
        } finally {
          await server.close();
        }
      } finally {
        await old.dispose();
      }
    });
  },
  { timeout: 120_000 },
);
