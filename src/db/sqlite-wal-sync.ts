import { closeSync, fdatasync, openSync } from 'node:fs';

/**
 * The requests' group commits sync the WAL off the event loop. With synchronous=FULL, SQLite's COMMIT
 * writes the group's pages to the WAL and then waits for the disk (fdatasync, about 1.2 ms a commit
 * here, half the commit's time), and the requests' thread waits with it: no request is read, checked
 * or answered meanwhile. So the group commits with synchronous=NORMAL (the pages written, not yet
 * synced) and its requests are answered only once an fdatasync of the WAL file, run on libuv's
 * thread pool and started after that COMMIT returned, has returned: the same guarantee (nothing is
 * acknowledged before the disk holds it) while the thread goes on with other requests' work.
 *
 * One sync at a time: the commits made while it runs are covered by the next one, which starts when
 * it ends (the WAL is one file, and an fdatasync covers everything written to it before it began).
 *
 * A sync that failed fails every later one too. After a failed fdatasync Linux may mark the pages
 * clean though the disk never got them, so a later sync that succeeds proves nothing (PostgreSQL
 * stops on such a failure for that reason): from then on no write is acknowledged until a restart.
 */
export class WalSync {
  private fd: number | undefined;
  /** Waiting for the next sync: committed after the one running (if any) began. */
  private waiting: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private running = false;
  /** Settles when every commit made so far is on disk; undefined once it has. */
  private latest: Promise<void> | undefined;
  private failed: Error | undefined;

  constructor(
    private readonly walPath: string,
    /** Told of the first failure (every write is refused from then on). */
    private readonly onFailed?: (error: Error) => void,
    /** node:fs's fdatasync; tests give one that fails, as a disk can. */
    private readonly sync: (fd: number, done: (error: Error | null) => void) => void = fdatasync,
  ) {}

  /** After a COMMIT: settles once the disk holds it (and everything committed before it). */
  afterCommit(): Promise<void> {
    const promise = new Promise<void>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
    });
    const latest = promise.then(
      () => {
        if (this.latest === latest) this.latest = undefined;
      },
      () => {
        if (this.latest === latest) this.latest = undefined;
      },
    );
    this.latest = latest;
    if (!this.running) this.start();
    return promise;
  }

  /**
   * Resolves once every commit made before the call is on disk, or its sync failed (its requests
   * were answered with that failure): it never rejects. Undefined when nothing is pending. An answer
   * that may show what a commit wrote (a read, say) waits for it, so that nothing is seen that a
   * power cut could take back.
   */
  pending(): Promise<void> | undefined {
    return this.latest;
  }

  private start(): void {
    const batch = this.waiting;
    this.waiting = [];
    this.running = true;
    if (this.failed) {
      this.finish(batch, this.failed);
      return;
    }
    let fd: number;
    try {
      // Opened on first use: the WAL file exists once the first commit wrote it. SQLite keeps the
      // file (the same inode) while any connection is open, and ours is until close().
      this.fd ??= openSync(this.walPath, 'r');
      fd = this.fd;
    } catch (error) {
      this.finish(batch, error as Error);
      return;
    }
    this.sync(fd, (error) => this.finish(batch, error));
  }

  private finish(
    batch: { resolve: () => void; reject: (error: Error) => void }[],
    error: Error | null,
  ): void {
    this.running = false;
    if (error && !this.failed) {
      this.failed = error;
      this.onFailed?.(error);
    }
    for (const waiter of batch) {
      if (error) waiter.reject(error);
      else waiter.resolve();
    }
    if (this.waiting.length > 0) this.start();
  }

  /** After the last commit's sync settled (the store waits for pending() before closing). */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
