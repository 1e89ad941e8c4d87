/**
 * Pairing detected clicks with sent clicks, and the statistics over the pairs.
 *
 * A latency can be longer than the gap between clicks (the naive pipeline is 3–5 s behind with clicks
 * every ~0.6 s), so "the last click sent before it arrived" is not the right partner. The matcher uses
 * stream positions instead: between two clicks the output holds as many samples as the input did
 * (unless something was dropped or inserted in between), so right pairs share the same position offset
 * (output position − input position), while a pairing shifted by one or more clicks does not, because
 * the gaps between clicks are random. It picks the order-preserving pairing (clicks come out in the
 * order they went in) with the most pairs, where a change of offset between consecutive pairs (a glitch:
 * a dropped page, audio played faster) costs half a pair and a detection left unpaired costs 0.1; a missing
 * click costs nothing (a late listener never hears the early ones). Ties go to the shorter latencies.
 * A pair must be causal (arrived after it was sent) and at most `maxLatencyMs` late.
 */

export interface Event {
  /** Sample position in its stream. */
  readonly pos: number;
  /** performance.now() ms. */
  readonly at: number;
}

export interface MatchOptions {
  /** How far two offsets may differ and still agree, in samples. */
  readonly toleranceSamples: number;
  readonly maxLatencyMs: number;
}

export const DEFAULT_MATCH: MatchOptions = { toleranceSamples: 720, maxLatencyMs: 15_000 };

/**
 * Half a pair: at 0.8, when listen played a backlog faster (which changes the offset between every two
 * clicks of a catch-up), one hit that matched the click before it by chance, with no jump, beat four
 * true pairs with four jumps (bench/network, "3g").
 */
const JUMP_COST = 0.5;
const UNPAIRED_HIT_COST = 0.1;
/** Per ms of latency: only breaks ties (15 s costs 0.015, far below any other term). */
const LATENCY_COST = 1e-6;

/** For each detection, the index of its sent click, or null (a spurious detection). */
export function matchClicks(sent: readonly Event[], hits: readonly Event[], options: MatchOptions = DEFAULT_MATCH): (number | null)[] {
  const result: (number | null)[] = hits.map(() => null);
  // score[j][i]: best score of a pairing of hits 0..j whose last pair is (j, i); from[j][i]: the previous pair.
  const score: number[][] = [];
  const from: ([number, number] | null)[][] = [];
  let best: { score: number; j: number; i: number } | null = null;
  for (let j = 0; j < hits.length; j++) {
    const hit = hits[j];
    score.push([]);
    from.push([]);
    if (hit === undefined) continue;
    for (let i = 0; i < sent.length; i++) {
      const click = sent[i];
      if (click === undefined) continue;
      const latency = hit.at - click.at;
      if (latency < -1 || latency > options.maxLatencyMs) continue;
      const offset = hit.pos - click.pos;
      const gain = 1 - LATENCY_COST * Math.max(0, latency);
      // Start a pairing here: every earlier detection stays unpaired.
      let value = gain - UNPAIRED_HIT_COST * j;
      let previous: [number, number] | null = null;
      for (let pj = 0; pj < j; pj++) {
        const prevHit = hits[pj];
        const row = score[pj];
        if (prevHit === undefined || row === undefined) continue;
        for (let pi = 0; pi < i; pi++) {
          const prevScore = row[pi];
          const prevClick = sent[pi];
          if (prevScore === undefined || prevClick === undefined) continue;
          const jump = Math.abs(offset - (prevHit.pos - prevClick.pos)) > options.toleranceSamples ? JUMP_COST : 0;
          const candidate = prevScore + gain - jump - UNPAIRED_HIT_COST * (j - pj - 1);
          if (candidate > value) {
            value = candidate;
            previous = [pj, pi];
          }
        }
      }
      const row = score[j];
      const links = from[j];
      if (row === undefined || links === undefined) continue;
      row[i] = value;
      links[i] = previous;
      const total = value - UNPAIRED_HIT_COST * (hits.length - 1 - j);
      if (best === null || total > best.score) best = { score: total, j, i };
    }
  }
  let cursor: [number, number] | null = best === null ? null : [best.j, best.i];
  while (cursor !== null) {
    const [j, i] = cursor;
    result[j] = i;
    cursor = from[j]?.[i] ?? null;
  }
  return result;
}

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] ?? Number.NaN;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? Number.NaN;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] ?? upper) + upper) / 2;
}

export function max(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : Math.max(...values);
}
