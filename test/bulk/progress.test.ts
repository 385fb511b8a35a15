import { describe, expect, it } from 'vitest';
import { ProgressDisplay } from '../../src/bulk/progress.js';

function stream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, out: { isTTY, columns: 100, write: (text: string) => writes.push(text) } };
}

describe('the progress display', () => {
  it('redraws a bar in place on a terminal, with rows, rate, time left and failures', () => {
    let now = 0;
    const { writes, out } = stream(true);
    const progress = new ProgressDisplay(out, { now: () => now });
    progress.begin(0);
    now = 10_000;
    progress.update({ done: 2_500, total: 10_000, failed: 3 });
    expect(writes.at(-1)).toBe(
      '\r\x1b[K[##########------------------------------] 2,500/10,000 rows 25% · 250 rows/s · ETA 30s · 3 failed',
    );
    now = 10_050;
    progress.update({ done: 2_600, total: 10_000, failed: 3 });
    expect(writes).toHaveLength(1);
    progress.note('rows 2-101: HTTP 503; retry 2 of 8 in 0.5 s');
    expect(writes.at(-1)).toBe('\r\x1b[Krows 2-101: HTTP 503; retry 2 of 8 in 0.5 s\n');
    now = 40_000;
    progress.end({ done: 10_000, total: 10_000, failed: 3 });
    expect(writes.at(-2)).toMatch(/\[#{40}\] 10,000\/10,000 rows 100% · 250 rows\/s · ETA 0s · 3 failed$/);
    expect(writes.at(-1)).toBe('\n');
  });

  it('writes plain lines at most every 2 s when the output is not a terminal', () => {
    let now = 0;
    const { writes, out } = stream(false);
    const progress = new ProgressDisplay(out, { now: () => now });
    progress.begin(1_000);
    for (now = 500; now <= 4_500; now += 500)
      progress.update({ done: 1_000 + now, total: 100_000, failed: 0 });
    expect(writes).toEqual([
      'progress: 3,000/100,000 rows 3% · 1,000 rows/s · ETA 1m37s · 0 failed\n',
      'progress: 5,000/100,000 rows 5% · 1,000 rows/s · ETA 1m35s · 0 failed\n',
    ]);
  });
});
