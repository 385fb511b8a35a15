import pg from 'pg';

/**
 * node-postgres connects to one host only. libpq's `postgres://h1:5432,h2:5432/db?target_session_attrs=read-write`
 * names several, tried in order, keeping the first that accepts writes: that is what a primary and its
 * standby look like after a failover. This does the same over one pg.Pool per host.
 */

export interface HostTarget {
  /** The connection string of this host alone. */
  connectionString: string;
  label: string;
}

export interface HostList {
  hosts: HostTarget[];
  /** target_session_attrs=read-write (libpq's default, `any`, takes the first host that answers). */
  readWrite: boolean;
}

/** Splits a connection string naming several hosts into one per host; one host gives a list of one. */
export function parseHosts(connectionString: string): HostList {
  const match = /^(postgres(?:ql)?:\/\/)([^@/?]*@)?([^/?]*)(.*)$/.exec(connectionString);
  if (!match) return { hosts: [{ connectionString, label: 'postgres' }], readWrite: false };
  const [, scheme, auth = '', hostPart = '', rest = ''] = match;
  let readWrite = false;
  // Removed from what node-postgres sees: it does not know the parameter.
  const tail = rest.replace(/([?&])target_session_attrs=([^&]*)&?/, (_all, sep: string, value: string) => {
    readWrite = decodeURIComponent(value) === 'read-write';
    return sep;
  });
  const cleanTail = tail.replace(/[?&]$/, '');
  const hosts = hostPart.split(',').map((host) => ({
    connectionString: `${scheme}${auth}${host}${cleanTail}`,
    label: host,
  }));
  return { hosts, readWrite };
}

/** No host accepted a connection that takes writes (the primary down, the standby not yet promoted). */
export class NoWritableHost extends Error {
  // SQLSTATE 08001, sqlclient_unable_to_establish_sqlconnection: what libpq reports here too.
  readonly code = '08001';
  constructor(cause: unknown) {
    super('no PostgreSQL host accepted a read-write connection', { cause });
    this.name = 'NoWritableHost';
  }
}

async function acceptsWrites(client: { query(text: string): Promise<pg.QueryResult> }): Promise<boolean> {
  const { rows } = await client.query('show transaction_read_only');
  return rows[0]?.transaction_read_only === 'off';
}

export interface HostPools {
  connect(): Promise<pg.PoolClient>;
  end(): Promise<void>;
  pools: pg.Pool[];
}

/**
 * One pool per host; a connection comes from the host that last worked, else the next one that does.
 * With read-write wanted, a new connection is checked once (`show transaction_read_only`), as libpq does.
 */
export function hostPools(list: HostList, makePool: (connectionString: string) => pg.Pool): HostPools {
  const pools = list.hosts.map((h) => makePool(h.connectionString));
  const checkEach = list.readWrite;
  const checked = new WeakSet<pg.PoolClient>();
  let current = 0;
  return {
    pools,
    async connect() {
      if (pools.length === 1 && !checkEach) return (pools[0] as pg.Pool).connect();
      let lastError: unknown;
      for (let i = 0; i < pools.length; i++) {
        const index = (current + i) % pools.length;
        let client: pg.PoolClient;
        try {
          client = await (pools[index] as pg.Pool).connect();
        } catch (err) {
          lastError = err;
          continue;
        }
        if (checkEach && !checked.has(client)) {
          try {
            if (!(await acceptsWrites(client))) {
              client.release(true);
              lastError = new Error(`${list.hosts[index]?.label} is read-only`);
              continue;
            }
            checked.add(client);
          } catch (err) {
            client.release(true);
            lastError = err;
            continue;
          }
        }
        current = index;
        return client;
      }
      throw pools.length === 1 ? lastError : new NoWritableHost(lastError);
    },
    end: async () => {
      await Promise.all(pools.map((p) => p.end()));
    },
  };
}

/**
 * LISTEN on a connection of its own, to the first host (in order) that takes it; on any loss it
 * reconnects with backoff (0.1 s doubling to 5 s). A standby refuses LISTEN, so after a failover
 * this lands on the new primary, where the notifications are now sent.
 */
export function listenOnHosts(
  list: HostList,
  channel: string,
  onMessage: (payload: string) => void,
  onConnected: (() => void) | undefined,
): () => Promise<void> {
  let stopped = false;
  let client: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  let delay = 100;

  const retry = () => {
    if (stopped || timer) return;
    const dead = client;
    client = undefined;
    dead?.end().catch(() => undefined);
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, delay);
    timer.unref();
    delay = Math.min(delay * 2, 5_000);
  };

  async function connect(): Promise<void> {
    for (const host of list.hosts) {
      if (stopped) return;
      const candidate = new pg.Client({
        connectionString: host.connectionString,
        connectionTimeoutMillis: 5_000,
        keepAlive: true,
      });
      candidate.on('error', () => (client === candidate ? retry() : undefined));
      try {
        await candidate.connect();
        await candidate.query(`listen ${pg.escapeIdentifier(channel)}`);
      } catch {
        candidate.end().catch(() => undefined);
        continue;
      }
      if (stopped) {
        await candidate.end().catch(() => undefined);
        return;
      }
      client = candidate;
      delay = 100;
      candidate.on('notification', (m) => {
        if (m.channel === channel && m.payload !== undefined) onMessage(m.payload);
      });
      candidate.on('end', () => (client === candidate ? retry() : undefined));
      onConnected?.();
      return;
    }
    retry();
  }

  void connect();
  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    const last = client;
    client = undefined;
    await last?.end().catch(() => undefined);
  };
}
