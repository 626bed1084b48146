// Numbers, points and money for the operator's locale, and instants in the retailer's time zone.
// Amounts arrive as exact decimal text; they are formatted from their digits, never through a float.

const locale = () => (typeof navigator !== 'undefined' && navigator.language) || 'en-US';

/** `1234567.5` → `1,234,567.5` (en-US): the integer part grouped for the locale, the fraction kept as given. */
export function formatAmount(text: string | number | null | undefined): string {
  if (text === null || text === undefined || text === '') return '—';
  const raw = String(text);
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(raw);
  if (!match) return raw;
  const [, sign, whole, fraction = ''] = match;
  const parts = new Intl.NumberFormat(locale()).formatToParts(BigInt(whole));
  const grouped = parts.map((p) => p.value).join('');
  const trimmed = fraction.replace(/0+$/, '');
  const decimal = new Intl.NumberFormat(locale()).formatToParts(1.5).find((p) => p.type === 'decimal')?.value ?? '.';
  return `${sign}${grouped}${trimmed ? decimal + trimmed : ''}`;
}

export function formatCount(n: number): string {
  return new Intl.NumberFormat(locale()).format(n);
}

/** An instant in the retailer's time zone, with the zone's abbreviation. */
export function formatTime(iso: string | null | undefined, timeZone?: string): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  // dateStyle/timeStyle may not be combined with timeZoneName (a TypeError): the fields are named one by one
  return new Intl.DateTimeFormat(locale(), { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZone: timeZone || 'UTC', timeZoneName: 'short' }).format(date);
}

/** A calendar day (`YYYY-MM-DD`, already in the retailer's zone) as the locale writes it short. */
export function formatDay(day: string): string {
  return new Intl.DateTimeFormat(locale(), { month: 'short', day: 'numeric', timeZone: 'UTC' }).format(new Date(`${day}T00:00:00Z`));
}

/** How far `current` is toward `target`, 0 to 100, for a progress bar (display only: no amount is computed from it). */
export function percent(current: string, target: string): number {
  const c = Number(current);
  const t = Number(target);
  if (!(t > 0)) return 100;
  return Math.max(0, Math.min(100, (c / t) * 100));
}
