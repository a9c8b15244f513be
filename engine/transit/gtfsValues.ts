/**
 * GTFS field syntax: service-day times (`H:MM:SS`, hours past 24 allowed),
 * dates (`YYYYMMDD`) and IANA time zones. Called by the GTFS import steps
 * (gtfsTable.ts, gtfsCalendar.ts, gtfsEntities.ts) and by code that prints
 * schedule times in messages.
 */

const TIME_RE = /^(\d{1,3}):([0-5]\d):([0-5]\d)$/;

/** GTFS time `H:MM:SS`/`HH:MM:SS` → seconds after midnight (hours may exceed 24); undefined if malformed. */
export function parseGtfsTime(s: string): number | undefined {
  const m = TIME_RE.exec(s.trim());
  if (!m) return undefined;
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
}

/** Seconds after midnight → `HH:MM:SS` (hours may exceed 24). */
export function formatGtfsTime(s: number): string {
  const t = Math.round(s);
  const p = (v: number) => String(v).padStart(2, '0');
  return `${p(Math.floor(t / 3600))}:${p(Math.floor((t % 3600) / 60))}:${p(t % 60)}`;
}

/** A GTFS date "YYYYMMDD" that names a real day, as the number yyyymmdd; undefined otherwise. */
export function parseGtfsDate(s: string): number | undefined {
  if (!/^\d{8}$/.test(s)) return undefined;
  const n = Number(s);
  const y = Math.floor(n / 10000);
  const m = Math.floor(n / 100) % 100;
  const d = n % 100;
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d ? n : undefined;
}

/** Whether the runtime knows `tz` as an IANA time zone (agency_timezone). */
export function validTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
