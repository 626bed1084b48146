// The dashboard's periods: the last N days of the retailer's calendar, today included, and sums of
// the API's exact decimal text (through BigInt, never a float).

/** Today's date (YYYY-MM-DD) in the time zone. */
export function todayIn(timeZone: string, now: Date = new Date()): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(now);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** A calendar day moved by `days` (negative: earlier). */
export function addDays(day: string, days: number): string {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

export const PRESETS = [7, 30, 90] as const;
export type Preset = (typeof PRESETS)[number];

/** The API's window for the last `days` days: from the start of the first day (the retailer's), to now. */
export function periodOf(days: number, timeZone: string, now: Date = new Date()): { from: string } {
  return { from: addDays(todayIn(timeZone, now), -(days - 1)) };
}

/** The exact sum of decimal texts (`"1.5" + "-0.25"` → `"1.25"`). */
export function sumDecimals(values: string[]): string {
  const parsed = values.map((v) => /^(-?)(\d+)(?:\.(\d+))?$/.exec(v.trim())).filter((m): m is RegExpExecArray => !!m);
  const scale = Math.max(0, ...parsed.map((m) => (m[3] ?? '').length));
  let total = 0n;
  for (const [, sign, whole, fraction = ''] of parsed) {
    const units = BigInt(whole + fraction.padEnd(scale, '0'));
    total += sign ? -units : units;
  }
  const negative = total < 0n;
  const digits = (negative ? -total : total).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const fraction = scale ? digits.slice(digits.length - scale).replace(/0+$/, '') : '';
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}
