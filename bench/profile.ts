// Reads a V8 .cpuprofile (written by `node --cpu-prof`) and tells where the self time went: by
// function, and by package or project file. Used by run.ts when given --cpu-prof.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Share of time per package (node_modules/<name>), project folder (dist/<dir>), or V8 bucket. */
  byArea: { area: string; percent: number }[];
  byFunction: { fn: string; percent: number }[];
  /** Share of time per stage of a request (HTTP, JSON, auth, validation, statements...). */
  byPhase: { phase: string; percent: number }[];
}

/**
 * The stage of a request a frame belongs to. A sample goes to the stage of the frame nearest its leaf
 * that has one: JSON.parse called by Fastify's body parser is JSON, Kysely compiling a statement for
 * the repository is statements, a socket write under Fastify's reply is HTTP.
 */
const PHASES: [string, (fn: string, url: string) => boolean][] = [
  ['garbage collection', (fn) => fn === '(garbage collector)'],
  [
    'statements (driver, query builder, store)',
    (_, url) =>
      /node_modules\/(better-sqlite3|kysely|pg|pg-protocol|pg-pool)\//.test(url) ||
      /\/dist\/db\//.test(url) ||
      /\/dist\/.*\.repository\.js$/.test(url),
  ],
  ['JSON parse', (fn, url) => (fn === 'parse' && url === '') || /secure-json-parse/.test(url)],
  [
    'serialisation',
    (fn, url) => (fn === 'stringify' && url === '') || /fast-json-stringify|fast-uri/.test(url),
  ],
  ['auth', (_, url) => /\/dist\/auth\//.test(url) || /node_modules\/jose\//.test(url)],
  [
    'validation',
    (_, url) => /\/dist\/(promotions\/bulk-request|contract\/)/.test(url) || /node_modules\/ajv/.test(url),
  ],
  ['service rules', (_, url) => /\/dist\/promotions\//.test(url)],
  [
    'logging and metrics',
    (_, url) => /node_modules\/(pino|prom-client|sonic-boom)|\/dist\/metrics\//.test(url),
  ],
  [
    'HTTP (Node, Fastify, routing)',
    (_, url) =>
      /^node:(_http|http|net|stream|internal\/(http|streams|net))/.test(url) ||
      /node_modules\/(fastify|@fastify|find-my-way|avvio|light-my-request)/.test(url),
  ],
  ['other code of the service', (_, url) => /\/dist\//.test(url)],
];

// A socket write of the PostgreSQL driver runs through Node's net and stream frames, which the
// table above counts as HTTP: it is a statement's, when a driver frame comes before any of the HTTP
// server's (pg writes each statement with `writev` under Query.submit).
const DRIVER = /node_modules\/(pg|pg-protocol|pg-pool)\//;
const HTTP_SERVER = /^node:_http|node_modules\/(fastify|@fastify|find-my-way|light-my-request)\//;

function phaseOf(path: ProfileNode[]): string {
  for (const node of path) {
    const { functionName, url } = node.callFrame;
    for (const [phase, matches] of PHASES) {
      if (!matches(functionName, url)) continue;
      if (phase.startsWith('HTTP') && url.startsWith('node:')) {
        const driver = path.findIndex((n) => DRIVER.test(n.callFrame.url));
        const server = path.findIndex((n) => HTTP_SERVER.test(n.callFrame.url));
        if (driver >= 0 && (server < 0 || driver < server))
          return 'statements (driver, query builder, store)';
      }
      return phase;
    }
  }
  return 'other (Node internals, idle callbacks)';
}

function area(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  const dist = /\/dist\/(.+)$/.exec(url);
  if (dist) return `dist/${dist[1]}`;
  if (url.startsWith('node:')) return 'node internals';
  return url.replace(/^file:\/\//, '');
}

export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parents = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parents.set(child, n.id);
  /** The node and its callers, leaf first. */
  const stackOf = (id: number): ProfileNode[] => {
    const out: ProfileNode[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
      const node = nodes.get(at);
      if (node) out.push(node);
    }
    return out;
  };
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  let total = 0;
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  const phases = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = nodes.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') continue;
    total += us;
    const a = area(url, functionName);
    areas.set(a, (areas.get(a) ?? 0) + us);
    const where = url ? ` ${a}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'}${where}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    const phase = functionName === '(program)' ? '(program: V8 and native)' : phaseOf(stackOf(id));
    phases.set(phase, (phases.get(phase) ?? 0) + us);
  }
  const ranked = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => ({ k, percent: Math.round((us / Math.max(1, total)) * 1000) / 10 }));
  return {
    file,
    totalMs: Math.round(total / 1000),
    byArea: ranked(areas).map(({ k, percent }) => ({ area: k, percent })),
    byFunction: ranked(fns).map(({ k, percent }) => ({ fn: k, percent })),
    byPhase: ranked(phases).map(({ k, percent }) => ({ phase: k, percent })),
  };
}
