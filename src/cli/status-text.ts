/** Pure pieces of the status line, shared by talk, listen and call. */

const BAR = '▁▂▃▄▅▆▇█';
/** Speech sits between about −50 dBFS (quiet room) and −10 dBFS (loud voice close to the mic). */
const FLOOR_DB = -60;

/** A one-character level meter for a dBFS value (▁ = silence, █ = full scale). */
export function levelBar(dbfs: number): string {
  if (!Number.isFinite(dbfs) || dbfs <= FLOOR_DB) return BAR[0] ?? ' ';
  const step = Math.min(BAR.length - 1, Math.floor(((dbfs - FLOOR_DB) / -FLOOR_DB) * BAR.length));
  return BAR[step] ?? ' ';
}

/** The microphone's last few levels as bars (`mic ▂▄▆█`), for the status line. */
export class LevelTrail {
  readonly #bars: string[] = [];

  add(dbfs: number): void {
    this.#bars.push(levelBar(dbfs));
    if (this.#bars.length > 6) this.#bars.shift();
  }

  /** The status line's part, or none before the first level. */
  parts(): string[] {
    return this.#bars.length > 0 ? [`mic ${this.#bars.join('')}`] : [];
  }
}

/** kbit/s on the wire, one decimal. */
export function wireRate(bytes: number, ms: number): string {
  return `${((bytes * 8) / Math.max(ms, 1000)).toFixed(1)} kbit/s`;
}

/** "1.2 s" for gaps and skips. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

/**
 * How late what you hear is, for the status line: the audio in hand against the playout's target
 * (`in hand 180/200 ms`, and the speed while it catches up), or, where there is no playout (an external
 * player, a file), how far behind the best delay of the call.
 */
export function delayParts(listener: { readonly behindMs: number; readonly playout: { readonly targetMs: number; readonly inHandMs: number; readonly tempo: number } | null }): string[] {
  const playout = listener.playout;
  if (playout === null) return [`${Math.round(listener.behindMs)} ms behind`];
  const speed = playout.tempo > 1.001 ? [`catching up ×${playout.tempo.toFixed(2)}`] : [];
  return [`in hand ${Math.round(playout.inHandMs)}/${Math.round(playout.targetMs)} ms`, ...speed];
}

/** A step on the send ladder, said once. */
export function rungLine(opus: { readonly bitrateKbps?: number | undefined; readonly pageMs?: number | undefined }, direction: 'down' | 'up'): string {
  const sending = `${opus.bitrateKbps ?? 32} kbit/s in ${opus.pageMs ?? 20} ms pages`;
  return direction === 'down' ? `the link cannot carry the call: sending ${sending} (what was queued is dropped)` : `the link has room again: sending ${sending}`;
}
