/**
 * The pipelines under test. Each config says how to start its talker and its listener (or one process
 * for the no-relay floors), what the talker reads (raw PCM, a streaming WAV, or a PulseAudio device)
 * and what the listener writes (raw PCM, WAV, or a device).
 */

export type ConfigId =
  | 'naive'
  | 'tuned'
  | 'floor'
  | 'hc-default'
  | 'hc-lowlat'
  | 'hc-late'
  | 'curl-late'
  | 'pa-floor'
  | 'pa-naive'
  | 'pa-tuned'
  | 'pa-hoodycall';

export interface CommandSpec {
  readonly file: string;
  readonly args: readonly string[];
}

export interface Urls {
  /** Pipe URL for the talker (through the counting proxy). */
  readonly talk: string;
  /** Pipe URL for the listener. */
  readonly listen: string;
  /** Base URLs (scheme, host, port) for `--server`. */
  readonly talkServer: string;
  readonly listenServer: string;
  readonly name: string;
}

export interface Context {
  readonly root: string;
  readonly node: string;
}

export interface ConfigDef {
  readonly id: ConfigId;
  readonly label: string;
  /** 'pipe': generator on stdin, detector on stdout; 'device': through the PulseAudio null sinks. */
  readonly path: 'pipe' | 'device';
  readonly relay: boolean;
  readonly cli: boolean;
  readonly input: 'pcm' | 'wav' | 'device';
  readonly output: 'pcm' | 'wav' | 'device';
  /** The listener starts this long after the talker. */
  readonly listenerDelayMs: number;
  /** How long to keep going after the last click was sent, at most. */
  readonly tailMs: number;
  /** Measure wire bitrate and CPU for this config (the issue asks for naive, tuned, hoodycall default). */
  readonly costs: boolean;
  talker(urls: Urls, ctx: Context): CommandSpec;
  /** null: the talker's process is the whole pipeline (no relay). */
  listener(urls: Urls, ctx: Context): CommandSpec | null;
}

const QUIET = '-hide_banner -nostats -loglevel error';
const PCM_IN = '-f s16le -ar 48000 -ac 1 -i -';
const PCM_OUT = '-f s16le -ar 48000 -ac 1 -';
const NAIVE_ENCODER = `ffmpeg ${QUIET} ${PCM_IN} -c:a libopus -b:a 32k -f ogg -`;
const NAIVE_DECODER = `ffmpeg ${QUIET} -i - ${PCM_OUT}`;
const TUNED_OPUS = '-c:a libopus -b:a 32k -application voip -frame_duration 20 -flush_packets 1 -page_duration 20000 -f ogg -';
const TUNED_ENCODER = `ffmpeg ${QUIET} -probesize 32 -analyzeduration 0 ${PCM_IN} ${TUNED_OPUS}`;
const TUNED_DECODER_IN = `ffmpeg ${QUIET} -fflags nobuffer -flags low_delay -probesize 32 -analyzeduration 0 -f ogg -i -`;
const TUNED_DECODER = `${TUNED_DECODER_IN} -flush_packets 1 ${PCM_OUT}`;
const PULSE_CAPTURE_TUNED = '-f pulse -fragment_size 1920 -sample_rate 48000 -channels 1 -i hc_mic';
const PULSE_PLAY_TUNED = '-f pulse -buffer_duration 20 -device hc_spk hoodycall-bench';

/** Single-quotes for bash. */
function q(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function shell(command: string): CommandSpec {
  return { file: 'bash', args: ['-c', `set -o pipefail; ${command}`] };
}

function cli(ctx: Context, args: readonly string[]): CommandSpec {
  return { file: ctx.node, args: [`${ctx.root}/bin/hoodycall.js`, ...args] };
}

export const CONFIGS: readonly ConfigDef[] = [
  {
    id: 'naive',
    label: 'naive seed pipeline (ffmpeg|curl, curl|ffmpeg)',
    path: 'pipe',
    relay: true,
    cli: false,
    input: 'pcm',
    output: 'pcm',
    listenerDelayMs: 0,
    tailMs: 6_000,
    costs: true,
    talker: (urls) => shell(`${NAIVE_ENCODER} | curl -sS -T - ${q(urls.talk)}`),
    listener: (urls) => shell(`curl -sS ${q(urls.listen)} | ${NAIVE_DECODER}`),
  },
  {
    id: 'tuned',
    label: 'tuned shell pipeline (note\'s "B")',
    path: 'pipe',
    relay: true,
    cli: false,
    input: 'pcm',
    output: 'pcm',
    listenerDelayMs: 0,
    tailMs: 2_500,
    costs: true,
    talker: (urls) => shell(`${TUNED_ENCODER} | curl -sS -T - ${q(urls.talk)}`),
    listener: (urls) => shell(`curl -sS -N ${q(urls.listen)} | ${TUNED_DECODER}`),
  },
  {
    id: 'floor',
    label: 'codec floor: tuned encoder | tuned decoder',
    path: 'pipe',
    relay: false,
    cli: false,
    input: 'pcm',
    output: 'pcm',
    listenerDelayMs: 0,
    tailMs: 2_500,
    costs: false,
    talker: () => shell(`${TUNED_ENCODER} | ${TUNED_DECODER}`),
    listener: () => null,
  },
  {
    id: 'hc-default',
    label: 'hoodycall talk/listen, default',
    path: 'pipe',
    relay: true,
    cli: true,
    input: 'wav',
    output: 'wav',
    listenerDelayMs: 0,
    tailMs: 2_500,
    costs: true,
    talker: (urls, ctx) => cli(ctx, ['talk', urls.name, '--server', urls.talkServer, '--input', '-']),
    listener: (urls, ctx) => cli(ctx, ['listen', urls.name, '--server', urls.listenServer, '--output', '-']),
  },
  {
    id: 'hc-lowlat',
    label: 'hoodycall talk --low-latency',
    path: 'pipe',
    relay: true,
    cli: true,
    input: 'wav',
    output: 'wav',
    listenerDelayMs: 0,
    tailMs: 2_500,
    costs: true,
    talker: (urls, ctx) => cli(ctx, ['talk', urls.name, '--server', urls.talkServer, '--input', '-', '--low-latency']),
    listener: (urls, ctx) => cli(ctx, ['listen', urls.name, '--server', urls.listenServer, '--output', '-']),
  },
  {
    id: 'hc-late',
    label: 'hoodycall, listener joins 4 s late',
    path: 'pipe',
    relay: true,
    cli: true,
    input: 'wav',
    output: 'wav',
    listenerDelayMs: 4_000,
    tailMs: 2_500,
    costs: false,
    talker: (urls, ctx) => cli(ctx, ['talk', urls.name, '--server', urls.talkServer, '--input', '-']),
    listener: (urls, ctx) => cli(ctx, ['listen', urls.name, '--server', urls.listenServer, '--output', '-']),
  },
  {
    // What a listener without catch-up of its own hears when it joins a call late: on a relay that
    // queues what the talker sent before (an early-200 relay, if the talker streamed into it), all of
    // that backlog; hoodycall talk sends nothing until a receiver is there.
    id: 'curl-late',
    label: 'hoodycall talk, curl -sN | ffmpeg joins 4 s late',
    path: 'pipe',
    relay: true,
    cli: true,
    input: 'wav',
    output: 'pcm',
    listenerDelayMs: 4_000,
    tailMs: 2_500,
    costs: false,
    talker: (urls, ctx) => cli(ctx, ['talk', urls.name, '--server', urls.talkServer, '--input', '-']),
    listener: (urls) => shell(`curl -sS -N ${q(urls.listen)} | ${TUNED_DECODER}`),
  },
  {
    id: 'pa-floor',
    label: 'device floor: ffmpeg pulse capture -> pulse playback',
    path: 'device',
    relay: false,
    cli: false,
    input: 'device',
    output: 'device',
    listenerDelayMs: 0,
    tailMs: 2_500,
    costs: false,
    talker: () => shell(`exec ffmpeg ${QUIET} -nostdin ${PULSE_CAPTURE_TUNED} ${PULSE_PLAY_TUNED}`),
    listener: () => null,
  },
  {
    id: 'pa-naive',
    label: 'device, naive (pulse in/out, defaults)',
    path: 'device',
    relay: true,
    cli: false,
    input: 'device',
    output: 'device',
    listenerDelayMs: 0,
    tailMs: 8_000,
    costs: false,
    talker: (urls) => shell(`ffmpeg ${QUIET} -nostdin -f pulse -i hc_mic -c:a libopus -b:a 32k -f ogg - | curl -sS -T - ${q(urls.talk)}`),
    listener: (urls) => shell(`curl -sS ${q(urls.listen)} | ffmpeg ${QUIET} -i - -f pulse -device hc_spk hoodycall-bench`),
  },
  {
    id: 'pa-tuned',
    label: 'device, tuned (20 ms fragment, -buffer_duration 20)',
    path: 'device',
    relay: true,
    cli: false,
    input: 'device',
    output: 'device',
    listenerDelayMs: 0,
    tailMs: 2_500,
    costs: false,
    talker: (urls) => shell(`ffmpeg ${QUIET} -nostdin ${PULSE_CAPTURE_TUNED} ${TUNED_OPUS} | curl -sS -T - ${q(urls.talk)}`),
    listener: (urls) => shell(`curl -sS -N ${q(urls.listen)} | ${TUNED_DECODER_IN} ${PULSE_PLAY_TUNED}`),
  },
  {
    id: 'pa-hoodycall',
    label: 'device, hoodycall talk/listen (default mic/speaker)',
    path: 'device',
    relay: true,
    cli: true,
    input: 'device',
    output: 'device',
    listenerDelayMs: 0,
    tailMs: 2_500,
    costs: false,
    talker: (urls, ctx) => cli(ctx, ['talk', urls.name, '--server', urls.talkServer, '--device', 'hc_mic']),
    listener: (urls, ctx) => cli(ctx, ['listen', urls.name, '--server', urls.listenServer, '--device', 'hc_spk']),
  },
];

export const CONFIG_IDS: readonly ConfigId[] = CONFIGS.map((config) => config.id);

export function configById(id: ConfigId): ConfigDef {
  const config = CONFIGS.find((candidate) => candidate.id === id);
  if (config === undefined) throw new Error(`unknown config ${id}`);
  return config;
}
