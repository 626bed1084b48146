/**
 * A background loop of rounds: the next one at once after a round that did
 * something, after `pollMs` after one that did nothing (or sooner, when
 * woken), and backing off up to 5 s while rounds fail (the database or a
 * broker away), telling `onError` of each failure and `onRecover` of the
 * first round that works again.
 */
export interface PollLoopOptions {
  pollMs: number;
  onError(err: unknown, failures: number): void;
  onRecover?(): void;
}

export interface PollLoop {
  /** Runs the next round within `afterMs` if the loop is waiting longer (several wakes meanwhile: one round). */
  wake(afterMs?: number): void;
  /** Stops, once the round running now has ended. */
  stop(): Promise<void>;
  /** The round running now (or the last one). */
  readonly current: Promise<unknown>;
}

export function pollLoop(round: () => Promise<number>, options: PollLoopOptions): PollLoop {
  let stopped = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let due = 0;
  // a wake while a round runs: the delay it asked for, applied when the round ends
  let woken: number | undefined;
  let current: Promise<unknown> = Promise.resolve();
  const schedule = (ms: number) => {
    due = Date.now() + ms;
    timer = setTimeout(next, ms);
  };
  const next = () => {
    timer = undefined;
    woken = undefined;
    if (stopped) return;
    current = round()
      .then((n) => {
        if (failures) options.onRecover?.();
        failures = 0;
        return n;
      })
      .catch((err) => {
        options.onError(err, ++failures);
        return -1;
      })
      .then((n) => {
        const wait = n > 0 ? 0 : n < 0 ? Math.min(5000, options.pollMs * 2 ** Math.min(failures, 5)) : options.pollMs;
        if (!stopped) schedule(woken !== undefined && !failures ? Math.min(wait, woken) : wait);
      });
  };
  next();
  return {
    wake(afterMs = 0) {
      if (failures || stopped) return;
      if (!timer) woken = Math.min(woken ?? afterMs, afterMs);
      else if (due > Date.now() + afterMs) {
        clearTimeout(timer);
        schedule(afterMs);
      }
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current.catch(() => {});
    },
    get current() {
      return current;
    },
  };
}
