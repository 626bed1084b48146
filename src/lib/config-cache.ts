/**
 * A retailer's program configuration (point accounts, tier systems, …) read on
 * every hot-path request, kept for a few seconds. Writes in this process
 * invalidate it at once; other processes see a change within `ttlMs` plus the
 * time one read takes.
 *
 * Only a finished read is shared. Each caller that finds nothing kept reads
 * for itself, on its own connection or transaction: a caller inside a
 * transaction that waited for another caller's read would hold its
 * connection while that read waits for one, and with every pooled connection
 * held that way the server stops.
 *
 * When a kept value has expired, the first caller to find it reads it again
 * (again for itself), while the callers that come meanwhile get the expired
 * value: under load one request pays for the read, not every request that
 * arrives before it finishes.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** A configuration of its own (a draft program in a sandbox): the caches' values read within it, kept apart from everyone else's. */
const ownConfiguration = new AsyncLocalStorage<Map<ConfigCache<unknown>, Map<string, Promise<unknown>>>>();

/**
 * Runs `work` with configuration caches of its own: what it reads is read
 * through its own transaction (which may hold a program applied there and
 * never committed) and kept only for it, and it never sees or fills the
 * shared caches.
 */
export const withOwnConfiguration = <T>(work: () => Promise<T>): Promise<T> => ownConfiguration.run(new Map(), work);

/** How long a process keeps a retailer's configuration: a change made through another process is seen within this (plus one read). */
export const CONFIG_CACHE_MS = 5000;

export class ConfigCache<T> {
  /** `refreshing`: when the read of an expired value started (a read that never ends holds it one lifetime at most). */
  private readonly entries = new Map<string, { value: Promise<T>; at: number; refreshing: number | null }>();
  /** Bumped by invalidate: a read started before it is not kept. */
  private readonly generations = new Map<string, number>();

  constructor(
    private readonly ttlMs = CONFIG_CACHE_MS,
    private readonly clock: () => number = Date.now,
  ) {}

  get(retailerId: string, load: () => Promise<T>): Promise<T> {
    const own = ownConfiguration.getStore();
    if (own) {
      const mine = (own.get(this as ConfigCache<unknown>) ?? own.set(this as ConfigCache<unknown>, new Map()).get(this as ConfigCache<unknown>)!) as Map<string, Promise<T>>;
      return mine.get(retailerId) ?? (mine.set(retailerId, load()), mine.get(retailerId)!);
    }
    const now = this.clock();
    const kept = this.entries.get(retailerId);
    const live = (since: number | null) => since !== null && now - since < this.ttlMs;
    if (kept && (live(kept.at) || live(kept.refreshing))) return kept.value;
    if (kept) kept.refreshing = now;
    const generation = this.generations.get(retailerId) ?? 0;
    const value = load();
    value.then(
      () => {
        if ((this.generations.get(retailerId) ?? 0) !== generation) return;
        // a read that started before the one kept is older than it
        if ((this.entries.get(retailerId)?.at ?? -Infinity) > now) return;
        if (this.entries.size > 10_000) this.entries.clear();
        this.entries.set(retailerId, { value, at: now, refreshing: null });
      },
      () => {
        if (kept && this.entries.get(retailerId) === kept) kept.refreshing = null;
      },
    );
    return value;
  }

  invalidate(retailerId: string): void {
    const own = ownConfiguration.getStore();
    if (own) {
      own.get(this as ConfigCache<unknown>)?.delete(retailerId);
      return;
    }
    this.entries.delete(retailerId);
    this.generations.set(retailerId, (this.generations.get(retailerId) ?? 0) + 1);
  }
}
