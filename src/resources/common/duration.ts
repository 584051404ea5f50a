// Go's time.ParseDuration, for the duration strings kcp-operator's API carries ("8760h0m0s", "1h30m").
const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds; throws on anything Go would reject. */
export function parseGoDuration(text: string): number {
  const s = text.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  const sign = s.startsWith('-') ? -1 : 1;
  if (s[0] === '-' || s[0] === '+') pos = 1;
  re.lastIndex = pos;
  let m: RegExpExecArray | null;
  let any = false;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * (UNITS[m[2] ?? ''] ?? NaN);
    pos = re.lastIndex;
    any = true;
  }
  if (!any || pos !== s.length || Number.isNaN(total)) throw new Error(`invalid duration ${JSON.stringify(text)}`);
  return sign * total;
}
