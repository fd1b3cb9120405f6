/**
 * The CLI's plain-text output: aligned tables, times as "3 s ago" or ISO 8601, and values from
 * jobs cut to one line with their control characters escaped (a job's error message must not be
 * able to move the cursor or recolour the terminal). Pure functions, no I/O.
 */

export interface Column<Row> {
  header: string;
  /** Numbers read best right-aligned. Default: 'left'. */
  align?: 'left' | 'right';
  value: (row: Row) => string;
}

/** Rows under a header line, columns two spaces apart, no trailing spaces. */
export function table<Row>(rows: readonly Row[], columns: readonly Column<Row>[]): string {
  const cells = [
    columns.map((column) => column.header),
    ...rows.map((row) => columns.map((c) => c.value(row))),
  ];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)));
  return cells
    .map((line) =>
      line
        .map((cell, i) => {
          const last = i === columns.length - 1;
          if (columns[i]!.align === 'right') return cell.padStart(widths[i]!);
          return last ? cell : cell.padEnd(widths[i]!);
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A count with thousands separators: 12,345. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** `n` and the noun, plural when n is not 1: "1 job", "3 jobs". */
export function plural(n: number, noun: string): string {
  return `${count(n)} ${noun}${n === 1 ? '' : 's'}`;
}

/** An ISO 8601 time to the second: 2024-05-01T12:00:03Z. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** "3 s ago", "5 min ago", "2 h ago"; a day or more ago (or in the future), the ISO time; "unknown" when not known. */
export function timeAgo(date: Date | null | undefined, now: number): string {
  // A damaged record's time is null (or an Invalid Date): say so rather than print "NaN d ago".
  if (!date || !Number.isFinite(date.getTime())) return 'unknown';
  const ms = now - date.getTime();
  if (ms < -1000) return `in ${duration(-ms)}`;
  if (ms >= 24 * 3600_000) return isoSeconds(date);
  return `${duration(Math.max(ms, 0))} ago`;
}

/** A duration in the largest unit that keeps it readable: "0.4 s", "12 s", "5 min", "3 h", "2 d". */
export function duration(ms: number): string {
  if (ms < 10_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)} s`;
  if (ms < 60_000) return `${Math.floor(ms / 1000)} s`;
  if (ms < 3600_000) return `${Math.floor(ms / 60_000)} min`;
  if (ms < 24 * 3600_000) return `${Math.floor(ms / 3600_000)} h`;
  return `${Math.floor(ms / (24 * 3600_000))} d`;
}

/**
 * Text from a job (an error message, arguments) made safe for one table cell: control characters
 * escaped as \n, \x1b, …, and cut to `max` characters with an ellipsis.
 */
export function oneLine(text: string, max: number): string {
  const safe = escapeControlCharacters(text);
  return safe.length > max ? `${safe.slice(0, Math.max(max - 1, 0))}…` : safe;
}

/** Control characters (C0, DEL, C1) as escapes, so that printing the text cannot drive the terminal. */
export function escapeControlCharacters(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (char) => {
    if (char === '\n') return '\\n';
    if (char === '\r') return '\\r';
    if (char === '\t') return '\\t';
    return `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}
