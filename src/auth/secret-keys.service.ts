import { type Config, ConfigError } from '../config.js';
import type { Store } from '../db/database.js';
import { createSealedSecretsRepository, type SealedRow } from './sealed-secrets.repository.js';
import {
  createSecretBox,
  generateSecretKey,
  type SecretBox,
  SecretKeyError,
  sealedKeyId,
} from './secret-box.js';
import { readOrCreateKeyFile } from './secret-key-file.js';

const missingKey = () =>
  new ConfigError([
    'LOYALTY_SECRET_KEY is not set: the keys that sign OAuth tokens and the webhook secrets are kept ' +
      'in the store sealed with it. Make one with `loyalty secret generate`, keep it apart from the ' +
      'store and its backups, and give the same one to every process of the deployment',
  ]);

/** A configuration whose sealing key is known: what resolveSecretKey answers. */
export type KeyedConfig = Config & { readonly secretKey: string };

/**
 * The one way every command (serve and its workers, migrate, seed, secret rotate) finds the sealing
 * key: LOYALTY_SECRET_KEY when set; else, for a store in memory, a key for this process (nothing it
 * seals outlives it); else the key file, made with a new key on first start (`warn` says where, once).
 */
export async function resolveSecretKey(
  config: Config,
  warn: (message: string) => void,
): Promise<KeyedConfig> {
  if (config.secretKey !== undefined) return config as KeyedConfig;
  if (config.store.kind === 'sqlite' && config.store.filename === ':memory:') {
    return { ...config, secretKey: generateSecretKey(), secretKeyFile: undefined };
  }
  // A configuration built in code (defineConfig) with neither a key nor a file.
  if (config.secretKeyFile === undefined) throw missingKey();
  const { key, created } = await readOrCreateKeyFile(config.secretKeyFile);
  if (created) {
    warn(
      `LOYALTY_SECRET_KEY is not set: made a new sealing key in ${config.secretKeyFile} (mode 0600). ` +
        'It seals the OAuth signing keys and webhook secrets kept in the store: back it up apart from ' +
        "the store's backups, since without it the store cannot be served. In production set " +
        'LOYALTY_SECRET_KEY instead (the same for every process of the deployment)',
    );
  }
  return { ...config, secretKey: key };
}

/** The box of a configuration: its key is given (LOYALTY_SECRET_KEY) or was resolved (resolveSecretKey). */
export function requireSecretBox(config: Config): SecretBox {
  if (config.secretKey === undefined) throw missingKey();
  return createSecretBox(
    config.secretKey,
    config.previousSecretKey,
    config.secretKeyFile === undefined ? 'LOYALTY_SECRET_KEY' : `the key in ${config.secretKeyFile}`,
  );
}

export interface SealedCount {
  /** Sealed with LOYALTY_SECRET_KEY. */
  current: number;
  /** Sealed with LOYALTY_SECRET_KEY_PREVIOUS: `loyalty secret rotate` moves them to the current key. */
  previous: number;
}

function refusal(box: SecretBox, failed: { row: SealedRow; err: unknown }[], total: number): SecretKeyError {
  const ids = [...new Set(failed.map((f) => sealedKeyId(f.row.sealed) ?? 'none'))].join(', ');
  const first = failed[0]?.err instanceof Error ? failed[0].err.message : String(failed[0]?.err);
  return new SecretKeyError(
    `${box.name} (key id ${box.keyId}${box.previousKeyId ? `, previous ${box.previousKeyId}` : ''}) ` +
      `does not open ${failed.length} of the store's ${total} sealed secrets (sealed with key id ${ids}; ` +
      `first: ${first}). Start with the key that sealed them, and during a rotation give the old one as ` +
      'LOYALTY_SECRET_KEY_PREVIOUS; a new key on an existing store cannot read what the old one sealed' +
      (box.name === 'LOYALTY_SECRET_KEY'
        ? ''
        : ". That file is this host's own: set LOYALTY_SECRET_KEY to the deployment's key"),
  );
}

/**
 * Opens every sealed secret of the store: a start-up with a wrong key (or without the previous one
 * in the middle of a rotation) fails here, naming the keys, instead of refusing tokens later.
 */
export async function checkSealedSecrets(store: Store, box: SecretBox): Promise<SealedCount> {
  const rows = await createSealedSecretsRepository(store).all();
  const count: SealedCount = { current: 0, previous: 0 };
  const failed: { row: SealedRow; err: unknown }[] = [];
  for (const row of rows) {
    try {
      box.open(row.purpose, row.orgId, row.sealed);
      if (sealedKeyId(row.sealed) === box.keyId) count.current += 1;
      else count.previous += 1;
    } catch (err) {
      failed.push({ row, err });
    }
  }
  if (failed.length > 0) throw refusal(box, failed, rows.length);
  return count;
}

/**
 * `loyalty secret rotate`: seals again with LOYALTY_SECRET_KEY every secret that another key
 * (LOYALTY_SECRET_KEY_PREVIOUS) sealed, all in one transaction; nothing changes if any secret
 * opens with neither key. The secrets themselves stay the same: tokens and webhooks keep working.
 */
export async function resealSecrets(
  store: Store,
  box: SecretBox,
): Promise<{ resealed: number; kept: number }> {
  const repository = createSealedSecretsRepository(store);
  return repository.transaction(async (repo) => {
    const rows = await repo.all();
    const failed: { row: SealedRow; err: unknown }[] = [];
    let resealed = 0;
    for (const row of rows) {
      if (sealedKeyId(row.sealed) === box.keyId) continue;
      let secret: string;
      try {
        secret = box.open(row.purpose, row.orgId, row.sealed);
      } catch (err) {
        failed.push({ row, err });
        continue;
      }
      await repo.replace(row, box.seal(row.purpose, row.orgId, secret));
      resealed += 1;
    }
    if (failed.length > 0) throw refusal(box, failed, rows.length);
    return { resealed, kept: rows.length - resealed };
  });
}
