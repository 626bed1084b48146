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
  /** Runs the next round now if the loop is waiting. */
  wake(): void;
  /** Stops, once the round running now has ended. */
  stop(): Promise<void>;
  /** The round running now (or the last one). */
  readonly current: Promise<unknown>;
}

export function pollLoop(round: () => Promise<number>, options: PollLoopOptions): PollLoop {
  let stopped = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<unknown> = Promise.resolve();
  const next = () => {
    timer = undefined;
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
        if (!stopped) timer = setTimeout(next, n > 0 ? 0 : n < 0 ? Math.min(5000, options.pollMs * 2 ** Math.min(failures, 5)) : options.pollMs);
      });
  };
  next();
  return {
    wake() {
      if (timer && !failures) {
        clearTimeout(timer);
        timer = setTimeout(next, 0);
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
