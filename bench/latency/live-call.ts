/**
 * One call under test with its own click generator and detector, for benchmarks that run several
 * pipelines at once through the same impairment (stall.ts: one relay paused; bench/network: one link
 * schedule). A case says how to start its talker and listener; `startLiveCall` starts both (each its
 * own process group), feeds the talker in real time and reads the listener; `hangUp` ends the input
 * (a clean hang-up) and stops whatever still runs; `heardClicks` pairs what was heard with what was sent.
 */
import { performance } from 'node:perf_hooks';
import type { CommandSpec, Context, Urls } from './configs.js';
import { matchClicks } from './match.js';
import { spawnGroup, stopGroup, type GroupProc } from './procs.js';
import { ClickDetector, RealtimeGenerator, streamingWavHeader, WavStripper } from './signal.js';

export interface CallCase {
  readonly id: string;
  readonly label: string;
  /** The talker reads raw PCM or a streaming WAV; the listener writes the same. */
  readonly input: 'pcm' | 'wav';
  readonly output: 'pcm' | 'wav';
  talker(urls: Urls, ctx: Context): CommandSpec;
  listener(urls: Urls, ctx: Context): CommandSpec;
}

export interface LiveCall {
  readonly callCase: CallCase;
  readonly talker: GroupProc;
  readonly listener: GroupProc;
  readonly generator: RealtimeGenerator;
  readonly detector: ClickDetector;
  /** Set when the listener's output could not be read (not WAV, a broken header). */
  error: string | null;
}

/** Starts the listener, then the talker with a generator of `onsets` (not started yet: call `generator.start()`). */
export function startLiveCall(callCase: CallCase, urls: Urls, onsets: readonly number[], seed: number, ctx: Context): LiveCall {
  const listener = spawnGroup(`${callCase.id} listener`, ...spec(callCase.listener(urls, ctx)), { stdin: 'ignore', stdout: 'pipe', cwd: ctx.root });
  const talker = spawnGroup(`${callCase.id} talker`, ...spec(callCase.talker(urls, ctx)), { stdin: 'pipe', stdout: 'ignore', cwd: ctx.root });
  if (talker.stdin === null) throw new Error('no talker stdin');
  const generator = new RealtimeGenerator(talker.stdin, onsets, seed, callCase.input === 'wav' ? streamingWavHeader() : undefined);
  const call: LiveCall = { callCase, talker, listener, generator, detector: new ClickDetector(), error: null };
  const stripper = callCase.output === 'wav' ? new WavStripper() : null;
  listener.stdout?.on('data', (chunk: Buffer) => {
    const at = performance.now();
    if (call.error !== null) return;
    try {
      const pcm = stripper === null ? chunk : stripper.feed(chunk);
      if (pcm.length > 0) call.detector.feed(pcm, at);
    } catch (error) {
      call.error = (error as Error).message;
    }
  });
  return call;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Ends every call's input (a clean hang-up), gives them `graceMs` to finish, then stops what still runs. */
export async function hangUp(calls: readonly LiveCall[], graceMs = 3_000): Promise<void> {
  for (const call of calls) {
    call.generator.stop();
    call.talker.stdin?.end();
  }
  await Promise.race([Promise.all(calls.flatMap((call) => [call.talker.exited, call.listener.exited])), sleep(graceMs)]);
  await stopCalls(calls);
}

/** Stops every process of every call (SIGTERM to each group, then SIGKILL). */
export async function stopCalls(calls: readonly LiveCall[]): Promise<void> {
  for (const call of calls) call.generator.stop();
  await Promise.all(calls.flatMap((call) => [stopGroup(call.talker), stopGroup(call.listener)]));
}

/** One click that was heard: when it was sent (performance.now()), and its delays, ms. */
export interface HeardClick {
  readonly sentAt: number;
  readonly arrivalMs: number;
  readonly heardMs: number;
}

/** Detections paired with no sent click (a click heard twice, or noise). */
export function unpairedDetections(call: LiveCall): number {
  return matchClicks(call.generator.sent, call.detector.detections).filter((index) => index === null).length;
}

/** The sent clicks that were heard, paired by stream position (match.ts), in sending order. */
export function heardClicks(call: LiveCall): HeardClick[] {
  const sent = call.generator.sent;
  const hits = call.detector.detections;
  const heard: HeardClick[] = [];
  matchClicks(sent, hits).forEach((index, j) => {
    const hit = hits[j];
    const click = index === null ? undefined : sent[index];
    if (hit === undefined || click === undefined) return;
    heard.push({ sentAt: click.at, arrivalMs: hit.at - click.at, heardMs: hit.heardAt - click.at });
  });
  return heard;
}

function spec(command: CommandSpec): [string, readonly string[]] {
  return [command.file, command.args];
}
