/** Rule limits as pure decisions over what the database answered (engine.ts asks). */

export const DAY_MS = 86_400_000;

/** Midnight UTC of the day of `t`. */
export const dayStart = (t: Date): Date => new Date(Math.floor(t.getTime() / DAY_MS) * DAY_MS);

export const dayText = (t: Date): string => t.toISOString().slice(0, 10);

/**
 * Consecutive days: the trigger happened on each of the `n` UTC days ending
 * with the event's day. `days` are the distinct days (YYYY-MM-DD) with an
 * occurrence inside that window and after the day of the member's last
 * achievement of the rule (a streak counts once).
 */
export function streakComplete(days: string[], eventTime: Date, n: number): boolean {
  const end = dayStart(eventTime).getTime();
  const have = new Set(days);
  for (let i = 0; i < n; i++) if (!have.has(dayText(new Date(end - i * DAY_MS)))) return false;
  return true;
}

/** The first day (inclusive) of the window a streak of `n` days ending on the event's day may use. */
export function streakWindowStart(eventTime: Date, n: number, lastAchievedAt?: Date | null): Date {
  const start = new Date(dayStart(eventTime).getTime() - (n - 1) * DAY_MS);
  if (!lastAchievedAt) return start;
  const afterLast = new Date(dayStart(lastAchievedAt).getTime() + DAY_MS);
  return afterLast > start ? afterLast : start;
}

/**
 * Per period: a new achievement at `t` is allowed when no window of `periodMs`
 * that holds `t` would then hold more than `count` achievements. `times` are
 * the member's achievement times (ms) within (t - period, t + period): past-
 * dated events are checked against later achievements too. The windows to
 * check end at `t` or at an achievement after it.
 */
export function periodAllows(times: number[], t: number, periodMs: number, count: number): boolean {
  const ends = [t, ...times.filter((x) => x >= t && x < t + periodMs)];
  return ends.every((e) => times.filter((x) => x > e - periodMs && x <= e).length + 1 <= count);
}
