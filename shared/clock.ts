/** The last millisecond {@link isoTime} wrote, and what it wrote. */
let writtenAt = Number.NaN;
let written = '';

/**
 * `new Date(ms).toISOString()`, written once per millisecond: under load many accepts and
 * access-log lines share one, and building the string was a visible share of an accept's CPU
 * (load/REPORT.md, "Change: the accept's own steps").
 */
export function isoTime(ms: number = Date.now()): string {
  if (ms !== writtenAt) {
    written = new Date(ms).toISOString();
    writtenAt = ms;
  }
  return written;
}
