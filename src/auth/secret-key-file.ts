import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../config.js';
import { decodeSecretKey, generateSecretKey } from './secret-box.js';

/**
 * The sealing key of a deployment that sets no LOYALTY_SECRET_KEY: kept in a file (by default
 * data/secret.key, beside the default SQLite file), made on first start, so that `npm start` works
 * as it is and the store still holds nothing a copy of it could use without that file.
 */

/** The key in `file`, trimmed; ConfigError naming the file (never its content) when it is not a key. */
async function readKeyFile(file: string): Promise<string> {
  const text = (await readFile(file, 'utf8')).trim();
  if (!decodeSecretKey(text)) {
    throw new ConfigError([
      `${file} (the sealing key, used when LOYALTY_SECRET_KEY is not set) is not a key: it must hold ` +
        '32 bytes in base64 (43 or 44 characters), as `loyalty secret generate` prints',
    ]);
  }
  return text;
}

/**
 * Reads the key file, or makes it with a new key. The new file is written whole under another name,
 * then linked in place: a link never replaces a file, so of two processes starting at once one wins
 * and both read back the same key. `created` is true for the process that made it.
 */
export async function readOrCreateKeyFile(file: string): Promise<{ key: string; created: boolean }> {
  try {
    return { key: await readKeyFile(file), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
  let created = false;
  try {
    await handle.writeFile(`${generateSecretKey()}\n`);
    await handle.sync();
    await handle.close();
    try {
      await link(temp, file);
      created = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  } finally {
    await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
  }
  return { key: await readKeyFile(file), created };
}
