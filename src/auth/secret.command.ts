import type { Config } from '../config.js';
import { createStore } from '../db/database.js';
import { migrateToLatest } from '../db/migrator.js';
import { generateSecretKey } from './secret-box.js';
import { requireSecretBox, resealSecrets } from './secret-keys.service.js';

export class SecretUsageError extends Error {}

export const SECRET_USAGE = `Usage: loyalty secret <action>

  generate  print a new LOYALTY_SECRET_KEY (32 random bytes, base64url); it is stored nowhere
  rotate    seal again with LOYALTY_SECRET_KEY (or, unset, the key in LOYALTY_SECRET_KEY_FILE,
            data/secret.key by default) every secret of the store that LOYALTY_SECRET_KEY_PREVIOUS
            sealed, in one transaction

Rotating the key: make one with generate; restart every process with LOYALTY_SECRET_KEY set to it and
LOYALTY_SECRET_KEY_PREVIOUS to the old one; run rotate (same environment); then drop
LOYALTY_SECRET_KEY_PREVIOUS and restart. With the key file instead: put the new key in the file and
the old one in LOYALTY_SECRET_KEY_PREVIOUS. See docs/reliability-and-security.md.
`;

export interface SecretOutput {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** `loyalty secret generate|rotate`; the configuration is read only by rotate. */
export async function runSecretCommand(
  args: readonly string[],
  /** The configuration with its sealing key resolved (resolveSecretKey). */
  config: () => Promise<Config>,
  out: SecretOutput,
): Promise<void> {
  const [action, ...extra] = args;
  if (extra.length > 0) throw new SecretUsageError(`secret ${action} takes no arguments`);
  if (action === 'generate') {
    out.stdout.write(`${generateSecretKey()}\n`);
    out.stderr.write(
      'Set it as LOYALTY_SECRET_KEY for every process of the deployment; keep it apart from the ' +
        'store and its backups: without it the store cannot be served.\n',
    );
    return;
  }
  if (action !== 'rotate') {
    throw new SecretUsageError(
      action === undefined ? 'secret needs an action' : `unknown action "${action}"`,
    );
  }
  const cfg = await config();
  const secrets = requireSecretBox(cfg);
  const store = createStore(cfg.store);
  try {
    await migrateToLatest(store.db, { secrets });
    const { resealed, kept } = await resealSecrets(store, secrets);
    out.stdout.write(
      `sealed ${resealed} secret(s) again with key ${secrets.keyId}; ${kept} already were` +
        `${secrets.previousKeyId ? `; LOYALTY_SECRET_KEY_PREVIOUS (${secrets.previousKeyId}) is no longer needed` : ''}\n`,
    );
  } finally {
    await store.destroy();
  }
}
