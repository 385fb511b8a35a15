import type { Store } from '../db/database.js';
import type { CredentialKind } from './credential.repository.js';

/**
 * A credential changed (disabled, rotated, its access or limit changed, deleted): every process
 * forgets what it cached of it. The change is announced in the transaction that makes it (PostgreSQL
 * NOTIFY, delivered at COMMIT), so no process hears of a change that did not happen, and each one
 * hears of it within milliseconds. While a process's listening connection is down, its cache
 * lifetime (LOYALTY_CREDENTIAL_CACHE_MS) bounds how long it may still accept the old credential, and
 * it forgets every cached credential when it reconnects (what was announced meanwhile is lost).
 */

export const CREDENTIAL_CHANNEL = 'loyalty_credential_changes';

export interface CredentialChange {
  kind: CredentialKind;
  name: string;
}

export function encodeCredentialChange(change: CredentialChange): string {
  return JSON.stringify([change.kind, change.name]);
}

/** The change a payload announces; undefined for anything else (a payload of another version). */
export function decodeCredentialChange(payload: string): CredentialChange | undefined {
  try {
    const value: unknown = JSON.parse(payload);
    if (!Array.isArray(value) || value.length !== 2) return undefined;
    const [kind, name] = value as unknown[];
    if ((kind !== 'till' && kind !== 'apiClient') || typeof name !== 'string') return undefined;
    return { kind, name };
  } catch {
    return undefined;
  }
}

export interface CredentialCache {
  forget(kind: CredentialKind, name: string): void;
  clear(): void;
}

/**
 * Keeps `cache` in step with the changes other processes make; answers the function that stops.
 * Nothing to follow where no other process writes the store (SQLite): the process that made a change
 * tells its own cache directly.
 */
export function followCredentialChanges(store: Store, cache: CredentialCache): () => Promise<void> {
  if (!store.listen) return async () => undefined;
  return store.listen(
    CREDENTIAL_CHANNEL,
    (payload) => {
      const change = decodeCredentialChange(payload);
      if (change) cache.forget(change.kind, change.name);
      else cache.clear();
    },
    () => cache.clear(),
  );
}
