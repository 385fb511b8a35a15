// The real server, built code, with /v2 authentication switched off for calls that carry no
// credentials (AppDeps.unauthenticatedActor): the bench's "none" run, against which the cost of Basic
// and OAuth is measured, and its turns of all three on one server (calls with credentials are
// authenticated as by `loyalty serve`). Reachable only by
// starting this file; started as `loyalty serve` starts (PORT, HOST, DATABASE_URL, LOG_LEVEL), plus
// BENCH_ORG_ID, the org every call acts for. Plain JavaScript so that it runs with no loader, as
// `node dist/cli.js serve` does. Needs `npm run build` first.
import { loadConfig } from '../dist/config.js';
import { boundHeapGrowth, startServer } from '../dist/server.js';

const config = loadConfig();
const orgId = Number(process.env.BENCH_ORG_ID);
if (!Number.isSafeInteger(orgId) || orgId <= 0) {
  console.error('server-noauth: BENCH_ORG_ID must be a positive integer');
  process.exit(64);
}

boundHeapGrowth(); // as `loyalty serve` does, so that its RSS compares with the other modes'
const server = await startServer(config, {
  unauthenticatedActor: { orgId, credential: 'bench', access: 'WRITE', rateLimitPerMinute: null },
});

let closing = false;
const stop = () => {
  if (closing) return;
  closing = true;
  server.close().then(
    () => process.exit(0),
    (err) => {
      console.error('server-noauth: shutdown failed', err);
      process.exit(1);
    },
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
