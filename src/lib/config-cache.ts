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
export class ConfigCache<T> {
  /** `refreshing`: when the read of an expired value started (a read that never ends holds it one lifetime at most). */
  private readonly entries = new Map<string, { value: Promise<T>; at: number; refreshing: number | null }>();
  /** Bumped by invalidate: a read started before it is not kept. */
  private readonly generations = new Map<string, number>();

  constructor(
    private readonly ttlMs = 5000,
    private readonly clock: () => number = Date.now,
  ) {}

  get(retailerId: string, load: () => Promise<T>): Promise<T> {
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
    this.entries.delete(retailerId);
    this.generations.set(retailerId, (this.generations.get(retailerId) ?? 0) + 1);
  }
}
