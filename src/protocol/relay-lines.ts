import { stripControls } from './refusals.js';

/**
 * What a relay tells a sender, line by line, in every dialect a hoodycall talker meets:
 *
 * - hoodycall's relay holds the sender's `200` until its receivers are there ("deferred"): the 200
 *   itself is the go-ahead, then `[INFO] connected to the receiver, streaming`, `[INFO] N bytes so far`
 *   every 2 s to a session sender, and `[ERROR] the receiver left after N bytes` or `[INFO] done, N bytes`.
 * - piping-server (npm, 1.12.9) answers `200` at once ("early"): `[INFO] Waiting for 1 receiver(s)...`,
 *   then `[INFO] Start sending to 1 receiver(s)!` when they are there; `[INFO] A receiver aborted.`.
 * - the hosted pipe (its documented contract) answers `200` at once too: `[INFO] Waiting for 1
 *   receiver(s) to connect...`, `[INFO] Streaming to 1 receiver(s)...`, `[INFO] A receiver
 *   disconnected.`, and ends a sender nobody came for with `[ERROR] Timed out waiting for receivers.`
 *
 * Each line is classified by one table (LINE_RULES, tested row by row), so the talker decides on a
 * `kind`, never on a relay's words.
 */

export type RelayLine =
  /** The sender waits for its receivers (only an early-200 relay says so). */
  | { readonly kind: 'waiting' }
  /** Some receivers are there, not necessarily all. */
  | { readonly kind: 'receivers-joined' }
  /** Every receiver is there: bytes sent now reach them. */
  | { readonly kind: 'go' }
  /** hoodycall's heartbeat: the relay has taken this many body bytes so far. */
  | { readonly kind: 'progress'; readonly bytes: number }
  /** One receiver of several left; the others go on. */
  | { readonly kind: 'receiver-left' }
  /** The receiver (or the last of them) left: the call is over for this sender. */
  | { readonly kind: 'receivers-gone' }
  /** The relay gave up waiting for receivers (its hold or `?wait` passed). */
  | { readonly kind: 'timed-out' }
  /** The relay is full. */
  | { readonly kind: 'capacity' }
  /** The relay ended the pipe: idle, shutting down. */
  | { readonly kind: 'relay-ended'; readonly reason: string }
  /** The body reached the relay, or every receiver. */
  | { readonly kind: 'done' }
  /** Anything else the relay says; an `[ERROR]` line is a failure. */
  | { readonly kind: 'info'; readonly text: string }
  | { readonly kind: 'failed'; readonly reason: string };

/** The relays whose sender text the client knows. */
export type RelayDialect = 'hoodycall' | 'piping-server' | 'hosted';

/** What each dialect is, in a few words (doctor says it). */
export const DIALECT_TEXT: Readonly<Record<RelayDialect, string>> = {
  hoodycall: "hoodycall's: a sender's 200 comes when its receivers are there",
  'piping-server': "piping-server's: a sender gets 200 at once, then a status line when its receivers are there",
  hosted: "the hosted pipe's: a sender gets 200 at once, then a status line when its receivers are there",
};

interface LineRule {
  readonly pattern: RegExp;
  readonly line: (match: RegExpExecArray) => RelayLine;
  /** Which relay says it (for the tests and for readers). */
  readonly dialect: RelayDialect;
}

const count = (text: string | undefined): number => Number(text ?? 0);

/** First match wins. Anchored to the `[INFO]`/`[ERROR]` prefix each dialect writes. */
export const LINE_RULES: readonly LineRule[] = [
  { dialect: 'hoodycall', pattern: /^\[INFO\] connected to (?:the receiver|\d+ receivers), streaming$/, line: () => ({ kind: 'go' }) },
  { dialect: 'hoodycall', pattern: /^\[INFO\] (\d+) bytes so far$/, line: (m) => ({ kind: 'progress', bytes: count(m[1]) }) },
  { dialect: 'hoodycall', pattern: /^\[INFO\] a receiver left; \d+ remain$/, line: () => ({ kind: 'receiver-left' }) },
  { dialect: 'hoodycall', pattern: /^\[ERROR\] the receiver left after \d+ bytes$/, line: () => ({ kind: 'receivers-gone' }) },
  { dialect: 'hoodycall', pattern: /^\[INFO\] done, \d+ bytes$/, line: () => ({ kind: 'done' }) },
  { dialect: 'hoodycall', pattern: /^\[ERROR\] (no bytes moved for .*|the relay is shutting down)$/, line: (m) => ({ kind: 'relay-ended', reason: m[1] ?? '' }) },
  { dialect: 'piping-server', pattern: /^\[INFO\] Waiting for \d+ receiver\(s\)\.\.\.$/, line: () => ({ kind: 'waiting' }) },
  { dialect: 'piping-server', pattern: /^\[INFO\] \d+ receiver\(s\) has\/have been connected\.$/, line: () => ({ kind: 'receivers-joined' }) },
  { dialect: 'piping-server', pattern: /^\[INFO\] A receiver was connected\.$/, line: () => ({ kind: 'receivers-joined' }) },
  { dialect: 'piping-server', pattern: /^\[INFO\] Start sending to \d+ receiver\(s\)!$/, line: () => ({ kind: 'go' }) },
  // With several receivers only the last line ends the call; a talker has one, so either does.
  { dialect: 'piping-server', pattern: /^\[INFO\] A receiver aborted\.$/, line: () => ({ kind: 'receiver-left' }) },
  { dialect: 'piping-server', pattern: /^\[INFO\] All receiver\(s\) was\/were aborted halfway\.$/, line: () => ({ kind: 'receivers-gone' }) },
  { dialect: 'piping-server', pattern: /^\[INFO\] All receiver\(s\) was\/were received successfully\.$/, line: () => ({ kind: 'done' }) },
  { dialect: 'piping-server', pattern: /^\[INFO\] Sent successfully!$/, line: () => ({ kind: 'info', text: 'sent successfully' }) },
  { dialect: 'piping-server', pattern: /^\[ERROR\] Failed to send\.$/, line: () => ({ kind: 'failed', reason: 'failed to send' }) },
  { dialect: 'hosted', pattern: /^\[INFO\] Waiting for \d+ receiver\(s\) to connect\.\.\.$/, line: () => ({ kind: 'waiting' }) },
  { dialect: 'hosted', pattern: /^\[INFO\] \d+ receiver\(s\) already connected\.$/, line: () => ({ kind: 'receivers-joined' }) },
  { dialect: 'hosted', pattern: /^\[INFO\] Streaming to \d+ receiver\(s\)\.\.\.$/, line: () => ({ kind: 'go' }) },
  { dialect: 'hosted', pattern: /^\[INFO\] A receiver disconnected\.$/, line: () => ({ kind: 'receiver-left' }) },
  { dialect: 'hosted', pattern: /^\[ERROR\] Timed out waiting for receivers\.$/, line: () => ({ kind: 'timed-out' }) },
  { dialect: 'hosted', pattern: /^\[ERROR\] Server at maximum active transfer capacity\.$/, line: () => ({ kind: 'capacity' }) },
  { dialect: 'hosted', pattern: /^\[INFO\] Transfer complete\.$/, line: () => ({ kind: 'done' }) },
  { dialect: 'hosted', pattern: /^\[INFO\] Upload complete\.$/, line: () => ({ kind: 'info', text: 'upload complete' }) },
  { dialect: 'hosted', pattern: /^\[ERROR\] Transfer failed\.?$/, line: () => ({ kind: 'failed', reason: 'transfer failed' }) },
];

/** One line of a relay's status text (without its newline), as data. */
export function classifyRelayLine(raw: string): RelayLine {
  // What a relay writes may reach a terminal: no escape sequences, no carriage returns.
  const text = stripControls(raw).trim();
  for (const rule of LINE_RULES) {
    const match = rule.pattern.exec(text);
    if (match !== null) return rule.line(match);
  }
  const error = /^\[ERROR\]\s*(.*)$/.exec(text);
  if (error !== null) return { kind: 'failed', reason: error[1] ?? '' };
  return { kind: 'info', text: text.replace(/^\[INFO\]\s*/, '') };
}

/** Which dialect a known line belongs to (undefined for a line no rule knows). */
export function dialectOfLine(raw: string): RelayDialect | undefined {
  const text = stripControls(raw).trim();
  return LINE_RULES.find((rule) => rule.pattern.test(text))?.dialect;
}

/** Splits a relay's status text into lines as it streams in; a line is classified once whole. */
export class RelayLineReader {
  #partial = '';
  /** The relay's words kept for an error message; bounded, a relay may talk forever. */
  #kept = '';

  /** The first whole line the relay said, as it said it (control characters removed). */
  first: string | undefined;

  /** Feeds a chunk; returns the lines it completed. */
  push(chunk: string): RelayLine[] {
    const text = this.#partial + chunk;
    const lines = text.split('\n');
    if (this.first === undefined && lines.length > 1) this.first = stripControls(lines[0] ?? '').trim();
    this.#partial = lines.pop() ?? '';
    // A relay that never sends a newline must not grow this without bound.
    if (this.#partial.length > 4_096) this.#partial = this.#partial.slice(-4_096);
    if (this.#kept.length < 4_096) this.#kept += chunk.slice(0, 4_096 - this.#kept.length);
    return lines.filter((line) => line.trim() !== '').map(classifyRelayLine);
  }

  /** The first bytes the relay said, for messages. */
  get text(): string {
    return this.#kept;
  }
}
