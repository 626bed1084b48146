/**
 * A retailer's program configuration (point accounts, tier systems, …) read on
 * every hot-path request, kept for a few seconds. Writes in this process
 * invalidate it at once; other processes see a change within `ttlMs`.
 *
 * Only a finished read is shared. Each caller that finds nothing kept reads
 * for itself, on its own connection or transaction: a caller inside a
 * transaction that waited for another caller's read would hold its
 * connection while that read waits for one, and with every pooled connection
 * held that way the server stops.
 */
export class ConfigCache<T> {
  private readonly entries = new Map<string, { value: Promise<T>; at: number }>();
  /** Bumped by invalidate: a read started before it is not kept. */
  private readonly generations = new Map<string, number>();

  constructor(private readonly ttlMs = 5000) {}

  get(retailerId: string, load: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = this.entries.get(retailerId);
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    const generation = this.generations.get(retailerId) ?? 0;
    const value = load();
    value.then(
      () => {
        if ((this.generations.get(retailerId) ?? 0) !== generation) return;
        if (this.entries.size > 10_000) this.entries.clear();
        this.entries.set(retailerId, { value, at: now });
      },
      () => {},
    );
    return value;
  }

  invalidate(retailerId: string): void {
    this.entries.delete(retailerId);
    this.generations.set(retailerId, (this.generations.get(retailerId) ?? 0) + 1);
  }
}
