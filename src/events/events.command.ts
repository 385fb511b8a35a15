import { parseArgs } from 'node:util';
import { LoyaltyEventsClient } from '../client/events.client.js';
import { EVENT_TYPES, type EventType } from '../client/events.types.js';
import { type Config, localServerUrl } from '../config.js';

export const EVENTS_USAGE = `Usage: loyalty events tail --org ID [--after CURSOR] [--type TYPE] [--url URL] [--once]

Prints an org's events from the feed as JSON lines, oldest kept first (or after CURSOR), and keeps
following it until Ctrl-C; then it prints the cursor to start again from on stderr.
  --org ID       the org
  --after CURSOR start after this feed cursor
  --type TYPE    only ${EVENT_TYPES.join(', ')}
  --url URL      the server (default http://HOST:PORT of the environment, as loyalty serve uses them)
  --once         print what is there now and exit
The management API's token comes from LOYALTY_ADMIN_TOKEN.
`;

export class EventsUsageError extends Error {}

export interface EventsIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  signal?: AbortSignal;
}

/** `loyalty events tail`: 0 when it ended as asked, 1 when the server refused or could not be reached. */
export async function runEventsCommand(args: string[], config: Config, io: EventsIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === 'help' || sub === '--help' || rest.includes('--help')) {
    io.stdout.write(EVENTS_USAGE);
    return 0;
  }
  if (sub !== 'tail') throw new EventsUsageError(`unknown events command "${sub}"\n\n${EVENTS_USAGE}`);
  let values: { org?: string; after?: string; type?: string; url?: string; once?: boolean };
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        org: { type: 'string' },
        after: { type: 'string' },
        type: { type: 'string' },
        url: { type: 'string' },
        once: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (err) {
    throw new EventsUsageError(`${(err as Error).message}\n\n${EVENTS_USAGE}`);
  }
  const orgId = Number(values.org);
  if (!values.org || !Number.isSafeInteger(orgId) || orgId < 1)
    throw new EventsUsageError(`--org must be a positive integer\n\n${EVENTS_USAGE}`);
  if (values.type !== undefined && !(EVENT_TYPES as readonly string[]).includes(values.type))
    throw new EventsUsageError(`--type must be one of ${EVENT_TYPES.join(', ')}`);
  if (!config.adminToken) throw new EventsUsageError('LOYALTY_ADMIN_TOKEN must be set to read the feed');
  const baseUrl = values.url ?? localServerUrl(config);
  const client = new LoyaltyEventsClient({ baseUrl, adminToken: config.adminToken });
  let cursor = values.after;
  try {
    if (values.once) {
      for (;;) {
        const page = await client.events(orgId, {
          ...(cursor !== undefined ? { after: cursor } : {}),
          ...(values.type ? { type: values.type as EventType } : {}),
          limit: 1000,
        });
        for (const event of page.events) io.stdout.write(`${JSON.stringify(event)}\n`);
        cursor = page.nextCursor;
        if (page.events.length === 0) break;
      }
    } else {
      for await (const page of client.tail(orgId, {
        ...(cursor !== undefined ? { after: cursor } : {}),
        ...(values.type ? { type: values.type as EventType } : {}),
        ...(io.signal ? { signal: io.signal } : {}),
      })) {
        for (const event of page.events) io.stdout.write(`${JSON.stringify(event)}\n`);
        cursor = page.nextCursor;
      }
    }
  } catch (err) {
    io.stderr.write(`loyalty events: ${err instanceof Error ? err.message : String(err)}\n`);
    if (cursor) io.stderr.write(`cursor: ${cursor}\n`);
    return 1;
  }
  if (cursor) io.stderr.write(`cursor: ${cursor}\n`);
  return 0;
}
