/**
 * One run of one config: start the listener and the talker (each its own process group), feed the
 * generator in real time, read the output, stop everything, and pair clicks.
 *
 * Pipe path: generator → talker's stdin; listener's stdout → detector.
 * Device path: generator → the FIFO of the pipe source hc_mic (the microphone); `parec` of hc_mic is
 * the reference ("sent" = when a click shows up there) and `parec` of hc_spk.monitor (the speaker) is
 * the output. Both records go through the same parec settings, so the recorders' own delay cancels
 * out; the generator → parec(hc_mic) delay is reported separately for information.
 */
import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { ConfigDef, Context, Urls } from './configs.js';
import { matchClicks, type Event } from './match.js';
import { childEnv, groupCpu, groupMembers, machineTicks, spawnGroup, stopGroup, type ExitInfo, type GroupProc } from './procs.js';
import { HOST, startCountingProxy, type CountingProxy } from './relay.js';
import { ClickDetector, planClicks, RealtimeGenerator, streamingWavHeader, WavStripper, type SentClick } from './signal.js';

export interface RunSettings {
  /** Clicks counted per run (after the listener joined). */
  readonly clicks: number;
  readonly firstClickMs: number;
  readonly minGapMs: number;
  readonly maxGapMs: number;
  readonly seed: number;
}

export interface RunResult {
  readonly config: string;
  readonly round: number;
  /** Set when the run could not measure (a process failed, no output). */
  readonly error: string | null;
  /** Clicks sent that count (all, or those sent after a late listener started). */
  readonly sent: number;
  /** Latencies (ms) of the counted clicks that were found: arrival, and as heard. */
  readonly arrival: readonly number[];
  readonly heard: readonly number[];
  /** First decoded sample, ms after both ends had started (null: none, or not meaningful). */
  readonly firstOutMs: number | null;
  /** Late listener: clicks sent before the listener started that it nevertheless played. */
  readonly staleHeard: number;
  readonly spurious: number;
  readonly wireKbps: number | null;
  /** CPU seconds per minute of audio, summed over the group and by process name (steady state). */
  readonly talkCpuPerMin: number | null;
  readonly listenCpuPerMin: number | null;
  readonly talkCpuByProcess: Readonly<Record<string, number>> | null;
  readonly listenCpuByProcess: Readonly<Record<string, number>> | null;
  /** Device path: generator → parec of hc_mic delay (ms) of each click, for information. */
  readonly harnessMs: readonly number[];
  readonly talkerExit: string;
  readonly listenerExit: string;
  readonly talkerStderr: string;
  readonly listenerStderr: string;
  readonly durationMs: number;
  /** Every sent click and every detection (ms relative to the generator's start), for diagnosis. */
  readonly detail: {
    readonly sent: readonly { readonly pos: number; readonly at: number }[];
    readonly hits: readonly { readonly pos: number; readonly at: number; readonly heardAt: number; readonly click: number | null }[];
  } | null;
  /** Share of the machine's CPU time (all cores) that was busy during the run, in %. */
  readonly machineBusyPct: number;
  /** Processes a talker/listener left running in its group after it exited. */
  readonly leftBehind: readonly string[];
}

export interface RunEnv {
  readonly ctx: Context;
  readonly relayPort: number | null;
  /** Device path: the PulseAudio client environment and the microphone's FIFO. */
  readonly pulse: { readonly env: NodeJS.ProcessEnv; readonly mic: Writable } | null;
  readonly log: (line: string) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** How a process ended, relative to the end of the run (input closed) and to our SIGTERM. */
function describeExit(info: ExitInfo | null, stoppedAt: number | null, terminatedAt: number | null): string {
  if (info === null) return 'still running';
  const how = info.signal !== null ? `killed by ${info.signal}` : `exit ${String(info.code)}`;
  if (stoppedAt !== null && info.at < stoppedAt) return `${how} before the end of the run`;
  if (terminatedAt !== null && info.at >= terminatedAt) return `${how} ${(info.at - terminatedAt).toFixed(0)} ms after SIGTERM`;
  if (stoppedAt !== null) return `${how} ${(info.at - stoppedAt).toFixed(0)} ms after the end of input`;
  return how;
}

const round1 = (value: number): number => Math.round(value * 10) / 10;

function sum(values: Readonly<Record<string, number>> | null): number | null {
  return values === null ? null : Object.values(values).reduce((total, value) => total + value, 0);
}

async function busySince(start: { busy: number; total: number }): Promise<number> {
  const now = await machineTicks();
  const total = now.total - start.total;
  return total > 0 ? ((now.busy - start.busy) / total) * 100 : Number.NaN;
}

/** A late listener's start-up and connect time: clicks sent in it are not counted. */
export const JOIN_ALLOWANCE_MS = 1_000;

const PAREC_ARGS = ['--raw', '--format=s16le', '--rate=48000', '--channels=1', '--latency-msec=10'];

interface Output {
  readonly detector: ClickDetector;
  error: string | null;
}

function attachDetector(proc: GroupProc, wav: boolean): Output {
  const output: Output = { detector: new ClickDetector(), error: null };
  const stripper = wav ? new WavStripper() : null;
  proc.stdout?.on('data', (chunk: Buffer) => {
    const at = performance.now();
    if (output.error !== null) return;
    try {
      const pcm = stripper === null ? chunk : stripper.feed(chunk);
      if (pcm.length > 0) output.detector.feed(pcm, at);
    } catch (error) {
      output.error = (error as Error).message;
    }
  });
  return output;
}

export async function runOnce(config: ConfigDef, round: number, settings: RunSettings, env: RunEnv): Promise<RunResult> {
  const started = performance.now();
  const name = `lat-${config.id}-${round}-${randomBytes(6).toString('hex')}`;
  let proxy: CountingProxy | null = null;
  const procs: GroupProc[] = [];
  // In an object, so that assignments made inside closures (the delayed listener) are not narrowed away.
  const ends: { talker: GroupProc | null; listener: GroupProc | null } = { talker: null, listener: null };
  let generator: RealtimeGenerator | null = null;
  let micRec: Output | null = null;
  let output: Output | null = null;
  let listenerTimer: NodeJS.Timeout | undefined;
  let stoppedAt: number | null = null;
  let terminatedAt: number | null = null;
  const leftBehind: string[] = [];
  const machineAtStart = await machineTicks();
  const device = config.path === 'device';
  const childEnvironment = device && env.pulse !== null ? env.pulse.env : childEnv();
  const start = (label: string, spec: { file: string; args: readonly string[] }, stdin: 'pipe' | 'ignore', stdout: 'pipe' | 'ignore'): GroupProc => {
    const proc = spawnGroup(label, spec.file, spec.args, { stdin, stdout, cwd: env.ctx.root, env: childEnvironment });
    procs.push(proc);
    return proc;
  };
  try {
    let urls: Urls = { talk: '', listen: '', talkServer: '', listenServer: '', name };
    if (config.relay) {
      if (env.relayPort === null) throw new Error('no relay');
      proxy = await startCountingProxy(env.relayPort);
      const talkServer = `http://${HOST}:${proxy.port}`;
      const listenServer = `http://${HOST}:${env.relayPort}`;
      urls = { talk: `${talkServer}/api/v1/pipe/${name}`, listen: `${listenServer}/api/v1/pipe/${name}`, talkServer, listenServer, name };
    }
    const preJoinClicks = config.listenerDelayMs > 0 ? Math.ceil((config.listenerDelayMs + JOIN_ALLOWANCE_MS) / settings.minGapMs) : 0;
    const onsets = planClicks({
      firstMs: config.listenerDelayMs > 0 ? 500 : settings.firstClickMs,
      count: settings.clicks + preJoinClicks,
      minGapMs: settings.minGapMs,
      maxGapMs: settings.maxGapMs,
      seed: settings.seed,
    });
    const lastOnset = onsets[onsets.length - 1] ?? 0;

    // Device path: the two recorders first.
    if (device) {
      if (env.pulse === null) throw new Error('no PulseAudio');
      const micRecorder = start('parec-mic', { file: 'parec', args: [...PAREC_ARGS, '--device=hc_mic'] }, 'ignore', 'pipe');
      const spkRecorder = start('parec-spk', { file: 'parec', args: [...PAREC_ARGS, '--device=hc_spk.monitor'] }, 'ignore', 'pipe');
      micRec = attachDetector(micRecorder, false);
      output = attachDetector(spkRecorder, false);
      await sleep(300); // let the recorders connect before the pipeline starts
    }

    const listenerSpec = config.listener(urls, env.ctx);
    let listenerStartedAt: number | null = null;
    const startListener = (): void => {
      if (listenerSpec === null) return;
      listenerStartedAt = performance.now();
      ends.listener = start('listener', listenerSpec, 'ignore', device ? 'ignore' : 'pipe');
      if (!device) output = attachDetector(ends.listener, config.output === 'wav');
    };
    if (config.listenerDelayMs === 0) startListener();

    const talkerSpec = config.talker(urls, env.ctx);
    const talkerReadsStdin = config.input !== 'device';
    const talkerWritesOutput = listenerSpec === null && !device;
    const talker = start('talker', talkerSpec, talkerReadsStdin ? 'pipe' : 'ignore', talkerWritesOutput ? 'pipe' : 'ignore');
    ends.talker = talker;
    if (talkerWritesOutput) output = attachDetector(talker, false);
    const sink = device ? env.pulse?.mic : talker.stdin;
    if (sink === null || sink === undefined) throw new Error('no input pipe');
    generator = new RealtimeGenerator(sink, onsets, settings.seed, config.input === 'wav' ? streamingWavHeader() : undefined);
    const t0 = generator.start();
    if (config.listenerDelayMs > 0) listenerTimer = setTimeout(startListener, config.listenerDelayMs);

    // Wait for the clicks, sampling costs once the call is steady.
    const hardDeadline = t0 + (lastOnset / 48) + config.listenerDelayMs + config.tailMs + 15_000;
    let costStart: { at: number; bytes: number; talk: Map<string, number>; listen: Map<string, number> } | null = null;
    let lastSentAt: number | null = null;
    let problem: string | null = null;
    for (;;) {
      await sleep(50);
      const now = performance.now();
      const gen: RealtimeGenerator = generator;
      const out: Output | null = output;
      if (out?.error !== undefined && out.error !== null) {
        problem = out.error;
        break;
      }
      if (gen.writeError !== null) {
        problem = `writing the input failed: ${gen.writeError.message}`;
        break;
      }
      const dead = procs.find((proc) => proc.exitInfo() !== null);
      if (dead !== undefined) {
        problem = `${dead.name} ended early (${describeExit(dead.exitInfo(), null, null)})`;
        break;
      }
      const counted = gen.sent.filter((click) => config.listenerDelayMs === 0 || (listenerStartedAt !== null && click.at >= listenerStartedAt + JOIN_ALLOWANCE_MS));
      const firstCounted = counted[0];
      if (config.costs && costStart === null && firstCounted !== undefined && now >= firstCounted.at + 250) {
        const listening = ends.listener;
        costStart = {
          at: performance.now(),
          bytes: proxy?.bytesUp() ?? 0,
          talk: await groupCpu(talker.pid),
          listen: listening === null ? new Map<string, number>() : await groupCpu(listening.pid),
        };
      }
      if (gen.sent.length === onsets.length) lastSentAt ??= gen.sent[gen.sent.length - 1]?.at ?? now;
      if (lastSentAt !== null) {
        const found = out?.detector.detections.length ?? 0;
        if (found >= onsets.length && now >= lastSentAt + 300) break;
        if (now >= lastSentAt + config.tailMs) break;
      }
      if (now >= hardDeadline) {
        problem = 'run timed out';
        break;
      }
    }

    // Costs over the steady window, then stop: end of input first (a clean hang-up), then the groups.
    let wireKbps: number | null = null;
    let talkCpu: Record<string, number> | null = null;
    let listenCpu: Record<string, number> | null = null;
    if (costStart !== null && problem === null) {
      const listening = ends.listener;
      const end = {
        at: performance.now(),
        bytes: proxy?.bytesUp() ?? 0,
        talk: await groupCpu(talker.pid),
        listen: listening === null ? new Map<string, number>() : await groupCpu(listening.pid),
      };
      const seconds = (end.at - costStart.at) / 1000;
      const perMinute = (before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): Record<string, number> =>
        Object.fromEntries([...after].map(([name, cpu]) => [name, ((cpu - (before.get(name) ?? 0)) / seconds) * 60]));
      if (seconds > 1) {
        if (proxy !== null) wireKbps = ((end.bytes - costStart.bytes) * 8) / 1000 / seconds;
        talkCpu = perMinute(costStart.talk, end.talk);
        if (listening !== null) listenCpu = perMinute(costStart.listen, end.listen);
      }
    }
    // Pipe path: end of input (EOF on the talker's stdin), a clean hang-up. Device path: the microphone
    // keeps delivering until the processes are gone (a capture blocked on a silent source could not
    // react to SIGTERM), so the generator stops only after them.
    stoppedAt = performance.now();
    clearTimeout(listenerTimer);
    if (!device) {
      generator.stop();
      talker.stdin?.end();
    }
    const ends2 = procs.filter((proc) => proc.name === 'talker' || proc.name === 'listener');
    if (!device) await Promise.race([Promise.all(ends2.map((proc) => proc.exited)), sleep(3_000)]);
    // A leader that exited but left processes of its group running (an orphaned ffmpeg) is a finding.
    for (const proc of ends2) {
      if (proc.exitInfo() === null) continue;
      const left = await groupMembers(proc.pid);
      if (left.length > 0) leftBehind.push(`${proc.name} exited but left ${left.join(', ')} running`);
    }
    // Whatever still runs gets SIGTERM (its whole group), then SIGKILL after 2 s.
    terminatedAt = performance.now();
    await Promise.all(ends2.map((proc) => stopGroup(proc, 2_000)));
    generator.stop();

    // Pair the clicks.
    const out: Output | null = output;
    if (out === null) throw new Error(problem ?? 'the listener never started');
    const detector = out.detector;
    let sentEvents: SentClick[] = generator.sent;
    const harnessMs: number[] = [];
    if (device && micRec !== null) {
      // The reference is the click as it appears in the "microphone" monitor.
      const micHits = micRec.detector.detections;
      const pairs = matchClicks(generator.sent, micHits);
      const reference: SentClick[] = [];
      pairs.forEach((index, j) => {
        const hit = micHits[j];
        const click = index === null ? undefined : generator?.sent[index];
        if (hit === undefined || click === undefined) return;
        reference.push({ pos: hit.pos, at: hit.at });
        harnessMs.push(hit.at - click.at);
      });
      // Clicks pacat never delivered count as sent but not found.
      sentEvents = reference;
    }
    const hits: Event[] = detector.detections;
    const pairs = matchClicks(sentEvents, hits);
    const joinedAt: number | null = listenerSpec === null ? null : listenerStartedAt;
    // A late listener needs a moment to start and connect: clicks sent in its first JOIN_ALLOWANCE_MS
    // count neither way; clicks sent before it started and played anyway are stale (backlog).
    const lateJoin = config.listenerDelayMs > 0 && joinedAt !== null;
    const counts = (click: SentClick): boolean => !lateJoin || click.at >= (joinedAt ?? 0) + JOIN_ALLOWANCE_MS;
    const stale = (click: SentClick): boolean => lateJoin && click.at < (joinedAt ?? 0);
    const arrival: number[] = [];
    const heard: number[] = [];
    let staleHeard = 0;
    let spurious = 0;
    pairs.forEach((index, j) => {
      const hit = detector.detections[j];
      if (hit === undefined) return;
      const click = index === null ? undefined : sentEvents[index];
      if (click === undefined) {
        spurious++;
        return;
      }
      if (stale(click)) {
        staleHeard++;
        return;
      }
      if (!counts(click)) return;
      arrival.push(hit.at - click.at);
      heard.push((device ? hit.at : hit.heardAt) - click.at);
    });
    const sentCounted = generator.sent.filter(counts).length;
    const bothStarted = Math.max(t0, joinedAt ?? t0);
    const firstOutMs = device || detector.firstSampleAt === null ? null : detector.firstSampleAt - bothStarted;
    if (problem === null && arrival.length === 0) problem = detector.samples === 0 ? 'no audio came out' : 'no click was found in the output';
    const talkerProc = ends.talker;
    const listenerProc = ends.listener;
    return {
      config: config.id,
      round,
      error: problem,
      sent: sentCounted,
      arrival,
      heard,
      firstOutMs,
      staleHeard,
      spurious,
      wireKbps,
      talkCpuPerMin: sum(talkCpu),
      listenCpuPerMin: sum(listenCpu),
      talkCpuByProcess: talkCpu,
      listenCpuByProcess: listenCpu,
      harnessMs,
      talkerExit: describeExit(talkerProc.exitInfo(), stoppedAt, terminatedAt),
      listenerExit: listenerProc === null ? '-' : describeExit(listenerProc.exitInfo(), stoppedAt, terminatedAt),
      talkerStderr: talkerProc.stderrTail(),
      listenerStderr: listenerProc === null ? '' : listenerProc.stderrTail(),
      durationMs: performance.now() - started,
      machineBusyPct: await busySince(machineAtStart),
      leftBehind,
      detail: {
        sent: sentEvents.map((click) => ({ pos: click.pos, at: round1(click.at - t0) })),
        hits: detector.detections.map((hit, j) => ({ pos: hit.pos, at: round1(hit.at - t0), heardAt: round1(hit.heardAt - t0), click: pairs[j] ?? null })),
      },
    };
  } catch (error) {
    const talkerProc = ends.talker;
    const listenerProc = ends.listener;
    return {
      config: config.id,
      round,
      error: (error as Error).message,
      sent: 0,
      arrival: [],
      heard: [],
      firstOutMs: null,
      staleHeard: 0,
      spurious: 0,
      wireKbps: null,
      talkCpuPerMin: null,
      listenCpuPerMin: null,
      talkCpuByProcess: null,
      listenCpuByProcess: null,
      harnessMs: [],
      talkerExit: talkerProc === null ? '-' : describeExit(talkerProc.exitInfo(), stoppedAt, terminatedAt),
      listenerExit: listenerProc === null ? '-' : describeExit(listenerProc.exitInfo(), stoppedAt, terminatedAt),
      talkerStderr: talkerProc === null ? '' : talkerProc.stderrTail(),
      listenerStderr: listenerProc === null ? '' : listenerProc.stderrTail(),
      durationMs: performance.now() - started,
      machineBusyPct: await busySince(machineAtStart),
      leftBehind,
      detail: null,
    };
  } finally {
    generator?.stop();
    clearTimeout(listenerTimer);
    await Promise.all(procs.map((proc) => stopGroup(proc)));
    proxy?.close();
  }
}
