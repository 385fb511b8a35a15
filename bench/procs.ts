// Child processes of the bench (the server, the load generator, the baseline), how they are stopped,
// and what /proc says about them while they run.
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'undici';
import type { Action, ChildMessage, TurnFigure, TurnMessage } from './common.js';

const live = new Set<ChildProcess>();

function track<C extends ChildProcess>(child: C): C {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/** Sends `signal` to every child still running (on exit, on error, on Ctrl-C). */
export function killAll(signal: NodeJS.Signals): void {
  for (const child of live) if (running(child)) child.kill(signal);
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (!running(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** SIGTERM, then SIGKILL if it has not exited after `ms`. */
export async function stop(child: ChildProcess, ms = 15_000): Promise<void> {
  if (!running(child)) return;
  child.kill('SIGTERM');
  if (!(await exited(child, ms))) {
    child.kill('SIGKILL');
    await exited(child, 5_000);
  }
}

/**
 * Forks a bench TypeScript file (through tsx), sends it one job, and resolves with its answer. The
 * child is killed if it has not answered within `timeoutMs`.
 */
export function runJob<J, R>(file: string, job: J, cwd: string, timeoutMs: number): Promise<R> {
  return startJob<J, R>(file, job, cwd, timeoutMs).result;
}

/** A job that takes turns (common.ts TurnMessage) before it answers. */
export interface TurnTaker<R> {
  /** Resolves once the child listens for turns. */
  ready(): Promise<void>;
  /** Gives the child one turn and resolves with what it did in it. */
  turn(turn: { action: Action; ms: number; set: number }): Promise<TurnFigure>;
  /** Tells the child the turns are over; `result` then resolves with its answer. */
  end(): void;
  result: Promise<R>;
}

/**
 * runJob for a job that talks on the way: the child's `{ ready }` and `{ turned }` messages are
 * passed to the caller (one turn at a time), and its last message is its answer.
 */
export function startJob<J, R>(file: string, job: J, cwd: string, timeoutMs: number): TurnTaker<R> {
  const child = track(
    fork(file, [], { cwd, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  // A child that fails or exits before it is ready, or during a turn, rejects them with its own error.
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  let onTurned: ((figure: TurnFigure) => void) | undefined;
  const result = new Promise<R>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const timer = setTimeout(() => {
      settle(() => reject(new Error(`${file} gave no answer within ${Math.round(timeoutMs / 1000)} s`)));
      void stop(child, 2_000);
    }, timeoutMs);
    child.on('message', (message: ChildMessage<R> | { ready: true } | { turned: TurnFigure }) => {
      if ('ready' in message) onReady();
      else if ('turned' in message) onTurned?.(message.turned);
      else
        settle(() => (message.ok ? resolve(message.result) : reject(new Error(`${file}: ${message.error}`))));
    });
    child.once('error', (err) => settle(() => reject(err)));
    child.once('exit', (code, signal) =>
      settle(() => reject(new Error(`${file} exited (${signal ?? code}) without an answer`))),
    );
    child.send(job as object);
  });
  const turn = (t: { action: Action; ms: number; set: number }) =>
    new Promise<TurnFigure>((resolve) => {
      onTurned = resolve;
      child.send({ turn: t } satisfies TurnMessage);
    });
  const early = () =>
    result.then(() => {
      throw new Error(`${file} answered before it was told to end`);
    });
  return {
    ready: () => Promise.race([ready, early()]),
    turn: (t) => Promise.race([turn(t), early()]),
    end: () => child.send({ end: true } satisfies TurnMessage),
    result,
  };
}

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  origin: string;
  stop(): Promise<void>;
}

/** Starts a server (`node <args>`), forwards its log lines, and waits until GET /health answers 200. */
export async function startServer(
  nodeArgs: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  port: number,
  label: string,
): Promise<ServerProcess> {
  const child = track(spawn(process.execPath, nodeArgs, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }));
  const tail: string[] = [];
  const forward = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      tail.push(line);
      if (tail.length > 20) tail.shift();
      console.log(`  [${label}] ${line.length > 400 ? `${line.slice(0, 400)}…` : line}`);
    }
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (true) {
    if (!running(child)) {
      throw new Error(
        `${label} exited (${child.signalCode ?? child.exitCode}) before it answered:\n${tail.join('\n')}`,
      );
    }
    try {
      const res = await request(`${origin}/health`, { headersTimeout: 1_000, bodyTimeout: 1_000 });
      await res.body.dump();
      if (res.statusCode === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop(child);
      throw new Error(`${label} did not answer /health within 60 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, pid: child.pid as number, origin, stop: () => stop(child) };
}

// ---- /proc ----

const CLOCK_TICKS = 100; // USER_HZ: 100 on every Linux this runs on

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The process and all its descendants. */
function tree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i] as number;
    const children = readText(`/proc/${p}/task/${p}/children`);
    if (children) for (const c of children.trim().split(/\s+/)) if (c) out.push(Number(c));
  }
  return out;
}

/** Resident set size of the process and its descendants, in kB (VmRSS of /proc/<pid>/status). */
export function rssKb(pid: number): number {
  let total = 0;
  for (const p of tree(pid)) {
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(readText(`/proc/${p}/status`) ?? '');
    if (match) total += Number(match[1]);
  }
  return total;
}

/** CPU seconds (user + system) used so far by one process. */
function cpuSecondsOf(pid: number): number {
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return 0;
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/**
 * The PostgreSQL processes that work for the bench: the backends connected to its database, and the
 * server's background processes (WAL writer, checkpointer…), but not other clients' backends.
 */
function postgresPids(database: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    if (readText(`/proc/${entry}/comm`)?.trim() !== 'postgres') continue;
    const title = (readText(`/proc/${entry}/cmdline`) ?? '').replace(/\0/g, ' ');
    // A client backend's title is "postgres: <cluster>: <user> <database> <host>(<port>) <state>".
    const backend = /\d+\.\d+\.\d+\.\d+\(\d+\)|\[local\]/.test(title);
    if (!backend || title.includes(` ${database} `)) out.push(Number(entry));
  }
  return out;
}

/**
 * CPU seconds used by a changing set of processes since the meter was made: a process seen at the
 * start counts from there, one that appears later counts from zero, one that exits keeps what it had
 * used when last seen (so poll it often).
 */
class CpuMeter {
  private readonly first = new Map<number, number>();
  private readonly last = new Map<number, number>();
  constructor(private readonly pids: () => number[]) {
    for (const pid of pids()) this.first.set(pid, cpuSecondsOf(pid));
  }
  poll(): void {
    for (const pid of this.pids()) {
      const used = cpuSecondsOf(pid);
      if (used > 0) this.last.set(pid, used);
    }
  }
  total(): number {
    let sum = 0;
    for (const [pid, used] of this.last) sum += used - (this.first.get(pid) ?? 0);
    return sum;
  }
}

/** Busy and total jiffies of the whole machine, from /proc/stat. */
function machineJiffies(): { busy: number; total: number } {
  const line = (readText('/proc/stat') ?? '').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

/** Share of the machine's CPU that is busy over the next `ms` (to warn of other work running). */
export async function machineBusyOver(ms: number): Promise<number> {
  const m0 = machineJiffies();
  await new Promise((r) => setTimeout(r, ms));
  const m1 = machineJiffies();
  return Math.round(((m1.busy - m0.busy) / Math.max(1, m1.total - m0.total)) * 100) / 100;
}

export interface ProcessSample {
  /** Highest RSS of the server (and any workers it forked), sampled every 200 ms. */
  peakRssMb: number;
  /** Cores the server used on average (CPU seconds / wall seconds). */
  serverCores: number;
  /** Cores PostgreSQL used for the bench on average (0 on SQLite: the store runs inside the server). */
  postgresCores: number;
  /** Share of the machine's CPU time that was busy (all processes, the load generator included). */
  machineBusy: number;
}

/** Samples a server's RSS every 200 ms and its CPU use, from `start()` until the returned stop. */
export function sample(pid: number, postgresDatabase?: string): () => ProcessSample {
  const t0 = performance.now();
  const server = new CpuMeter(() => tree(pid));
  const postgres = postgresDatabase ? new CpuMeter(() => postgresPids(postgresDatabase)) : undefined;
  const m0 = machineJiffies();
  let peak = rssKb(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssKb(pid));
    server.poll();
    postgres?.poll();
  }, 200);
  return () => {
    clearInterval(timer);
    peak = Math.max(peak, rssKb(pid));
    server.poll();
    postgres?.poll();
    const wall = (performance.now() - t0) / 1000;
    const m1 = machineJiffies();
    const r = (x: number) => Math.round(x * 100) / 100;
    return {
      peakRssMb: r(peak / 1024),
      serverCores: r(server.total() / wall),
      postgresCores: r((postgres?.total() ?? 0) / wall),
      machineBusy: r((m1.busy - m0.busy) / Math.max(1, m1.total - m0.total)),
    };
  };
}

/**
 * The server's `loyalty_event_loop_busy_seconds_total` (GET /metrics), undefined when it has none.
 * Taken before and after a phase, it gives the share of the phase the loop was busy: near 1, answers
 * queue behind each other whatever the store does.
 */
export async function loopBusySeconds(origin: string): Promise<number | undefined> {
  try {
    const res = await request(`${origin}/metrics`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
    const text = await res.body.text();
    if (res.statusCode !== 200) return undefined;
    const match = /^loyalty_event_loop_busy_seconds_total (\S+)$/m.exec(text);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}
