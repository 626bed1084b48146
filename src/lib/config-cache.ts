/**
 * A retailer's program configuration (point accounts, tier systems, …) read on
 * every hot-path request, kept for a few seconds. Writes in this process
 * invalidate it at once; other processes see a change within `ttlMs`.
 */
export class ConfigCache<T> {
  private readonly entries = new Map<string, { value: Promise<T>; at: number }>();

  constructor(private readonly ttlMs = 5000) {}

  get(retailerId: string, load: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = this.entries.get(retailerId);
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    if (this.entries.size > 10_000) this.entries.clear();
    const value = load();
    this.entries.set(retailerId, { value, at: now });
    value.catch(() => this.entries.delete(retailerId));
    return value;
  }

  invalidate(retailerId: string): void {
    this.entries.delete(retailerId);
  }
}
