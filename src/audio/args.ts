/**
 * Pure ffmpeg argument-list builders for `talk` (capture → Opus in Ogg on stdout) and `listen`
 * (Ogg on stdin → speaker or WAV). No process is started here; every function returns a fresh array.
 *
 * The flags that matter for latency (measured: bench/latency/README.md and docs/decisions/2026-11-24-latency-frames-and-pages.md):
 * - talker: 10 ms Opus frames in 20 ms Ogg pages (the Ogg default holds ~1 s of packets per page), no input
 *   probing on a pipe input (`-probesize 32 -analyzeduration 0`), a small pulse capture fragment;
 * - listener: a forced input format (`-f ogg`, probing reads ≥ 2 KiB ≈ 0.4 s), `-fflags nobuffer`,
 *   and a small playback buffer (`-buffer_duration 20` for pulse; its default costs 2–3 s).
 */

export type Platform = 'linux' | 'darwin' | 'win32';
export type CaptureBackend = 'pulse' | 'alsa' | 'avfoundation' | 'dshow';
export type PlaybackBackend = 'pulse' | 'alsa' | 'audiotoolbox';

/** The raw sample formats ffmpeg reads as a demuxer of the same name (`-f s16le`, …). */
export type PcmFormat = 'u8' | 's16le' | 's24le' | 's32le' | 'f32le' | 'f64le' | 'alaw' | 'mulaw';

/** The sample rate of everything we send: Opus runs at 48 kHz internally. */
export const SAMPLE_RATE = 48_000;
/** Calls are mono. */
export const CHANNELS = 1;
/** Default Opus bitrate, kbit/s. */
export const DEFAULT_BITRATE_KBPS = 32;
/** The name a pulse playback stream shows in mixers (pavucontrol); ffmpeg's pulse output takes the sink from `-device`. */
export const DEFAULT_STREAM_NAME = 'hoodycall';
/** Pulse capture fragment in bytes: 20 ms of s16 mono at 48 kHz. The default fragment measured ~1 s slower. */
export const PULSE_FRAGMENT_BYTES = 1920;
/** Pulse playback buffer in ms; the pulse default ("something like 2 s") costs 2–3 s of latency. */
export const PULSE_BUFFER_MS = 20;
/** dshow capture buffer in ms (dshow's default is 500 ms). */
export const DSHOW_BUFFER_MS = 20;

/** Put in front of every ffmpeg run: no banner, no progress line, only errors on stderr. */
export const QUIET_ARGS: readonly string[] = ['-hide_banner', '-nostats', '-loglevel', 'error'];

/** Where `talk` takes its audio from. */
export type CaptureSource =
  /** A capture device; `device` defaults per backend (`default`, `:0`); dshow needs a name. */
  | { readonly kind: 'device'; readonly backend: CaptureBackend; readonly device?: string | undefined }
  /** A media file, read at its native rate (`-re`) unless `realtime` is false. */
  | { readonly kind: 'file'; readonly path: string; readonly realtime?: boolean }
  /** Raw PCM on stdin (ffmpeg's raw demuxers read it in 1024-sample packets). */
  | { readonly kind: 'pcm'; readonly format: PcmFormat; readonly sampleRate: number; readonly channels: number }
  /** A WAV on stdin as wav-feed.ts writes it, read in packets of `packetBytes`. */
  | { readonly kind: 'wav-stdin'; readonly packetBytes: number }
  /** A sine test tone; `durationSeconds` unset means endless. */
  | { readonly kind: 'tone'; readonly frequency: number; readonly durationSeconds?: number; readonly realtime?: boolean };

/** Where `listen` sends the decoded audio. */
export type PlaybackTarget =
  /** pulse: `device` is a sink name (default sink when unset); `streamName` is only the label. */
  | { readonly kind: 'pulse'; readonly device?: string | undefined; readonly streamName?: string }
  | { readonly kind: 'alsa'; readonly device?: string | undefined }
  /** macOS: `deviceIndex` from `-list_devices`; the system default output when unset. */
  | { readonly kind: 'audiotoolbox'; readonly deviceIndex?: number }
  /** WAV, s16le 48 kHz mono, to a file or to stdout (`path: '-'`). */
  | { readonly kind: 'wav'; readonly path: string; readonly overwrite?: boolean }
  /** Headerless s16le 48 kHz mono on stdout, e.g. for an in-process level meter. */
  | { readonly kind: 'pcm' };

export interface OpusOptions {
  /** kbit/s, 6–510; default 32. */
  readonly bitrateKbps?: number;
  /** 10 ms pages (about −13 ms as heard, +13 kbit/s of page headers) and the `lowdelay` application. */
  readonly lowLatency?: boolean;
  /** Overrides the application implied by `lowLatency` (`voip`, or `lowdelay` when low latency). */
  readonly application?: 'voip' | 'audio' | 'lowdelay';
  /** Opus frame duration, ms (2.5, 5, 10, 20, 40 or 60); default 10. */
  readonly frameMs?: OpusFrameMs;
  /** Ogg page duration, ms: a whole number of frames; default two frames (one with `lowLatency`). */
  readonly pageMs?: number;
}

export type OpusFrameMs = 2.5 | 5 | 10 | 20 | 40 | 60;
const OPUS_FRAME_SIZES: readonly number[] = [2.5, 5, 10, 20, 40, 60];

/** Opus frame duration in ms: 10 ms frames reach a listener ~20 ms sooner from a microphone than 20 ms ones. */
const OPUS_FRAME_MS = 10;

/** One rung of the ladder a talker steps down when its link cannot carry the stream (and back up). */
export interface SendRung extends Required<Pick<OpusOptions, 'bitrateKbps' | 'frameMs' | 'pageMs'>> {
  /** What this rung puts on the wire for speech, kbit/s: Opus, Ogg, chunk framing and IPv4+TCP headers (measured). */
  readonly wireKbps: number;
  /** Added delay as heard over the first rung on a clean link, ms (measured). */
  readonly addedMs: number;
}

/**
 * The send ladder, from bench/network/README.md ("Wire bytes"): 20 s of speech through
 * bench/network/wire.ts (bytes on every layer), the delays through bench/network.ts on a clean link.
 * Per second of speech the Opus packets are the smaller part at 20 ms pages: 50 pages a second cost
 * 11.6 kbit/s of Ogg headers, 2.4 of chunk framing and 20.8 of IPv4+TCP headers (one segment per
 * page), so longer pages save more than a lower bitrate, at ~40 ms as heard per page doubling (a
 * page is sent when its last frame is done). Rung 0 is the default: nothing is saved there for free
 * (VBR is on already; constrained or off VBR save nothing; 20 ms frames would save 2.4 kbit/s and
 * cost ~20 ms from a microphone). The lower rungs keep a 32 kbit/s uplink live (29.1 and 23.2
 * kbit/s on the wire) where rung 0 (68.6) falls further behind every second.
 */
export const SEND_LADDER: readonly SendRung[] = [
  { bitrateKbps: 32, frameMs: 10, pageMs: 20, wireKbps: 68.6, addedMs: 0 },
  { bitrateKbps: 24, frameMs: 20, pageMs: 40, wireKbps: 41.9, addedMs: 40 },
  { bitrateKbps: 16, frameMs: 20, pageMs: 60, wireKbps: 29.1, addedMs: 80 },
  { bitrateKbps: 12, frameMs: 20, pageMs: 60, wireKbps: 23.2, addedMs: 80 },
];

function assertPositiveInteger(value: number, what: string): void {
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${what} must be a positive integer, got ${value}`);
}

function assertPositive(value: number, what: string): void {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${what} must be a positive number, got ${value}`);
}

/** `-nostdin` unless stdin carries the input: ffmpeg otherwise reads keys (and eats bytes) from it. */
function stdinArgs(stdinIsInput: boolean): string[] {
  return stdinIsInput ? [] : ['-nostdin'];
}

// ---------------------------------------------------------------------------------------------
// Capture (talk input)

/** `-f pulse` capture, 48 kHz mono, 20 ms fragments. `device` is a source name (`x.monitor` works). */
export function pulseCaptureArgs(device = 'default'): string[] {
  return [
    '-f', 'pulse',
    '-fragment_size', String(PULSE_FRAGMENT_BYTES),
    '-sample_rate', String(SAMPLE_RATE),
    '-channels', String(CHANNELS),
    '-i', device,
  ];
}

/** `-f alsa` capture, 48 kHz mono. */
export function alsaCaptureArgs(device = 'default'): string[] {
  return ['-f', 'alsa', '-sample_rate', String(SAMPLE_RATE), '-channels', String(CHANNELS), '-i', device];
}

/**
 * macOS capture. avfoundation's input is `VIDEO:AUDIO`; an audio-only input is `:N` or `:NAME`.
 * `device` may be given with or without the leading colon; default `:0` (the first audio device).
 */
export function avfoundationCaptureArgs(device = '0'): string[] {
  const audio = device.startsWith(':') ? device : `:${device}`;
  return ['-f', 'avfoundation', '-i', audio];
}

/** Windows capture. dshow has no "default" device: pass a name from `-list_devices` (or `audio=NAME`). */
export function dshowCaptureArgs(device: string): string[] {
  if (device.trim() === '') throw new RangeError('dshow capture needs a device name (list them with: ffmpeg -list_devices true -f dshow -i dummy)');
  const input = device.startsWith('audio=') ? device : `audio=${device}`;
  return ['-f', 'dshow', '-audio_buffer_size', String(DSHOW_BUFFER_MS), '-i', input];
}

export function deviceCaptureArgs(backend: CaptureBackend, device?: string): string[] {
  switch (backend) {
    case 'pulse':
      return pulseCaptureArgs(device);
    case 'alsa':
      return alsaCaptureArgs(device);
    case 'avfoundation':
      return avfoundationCaptureArgs(device);
    case 'dshow':
      return dshowCaptureArgs(device ?? '');
  }
}

/** A file (`--input FILE`), paced at its native rate so the far end hears it live. */
export function fileInputArgs(path: string, realtime = true): string[] {
  // A leading '-' would read as an option, and '-' alone is stdin; `file:` keeps it a path.
  const target = path.startsWith('-') ? `file:${path}` : path;
  return [...(realtime ? ['-re'] : []), '-i', target];
}

/**
 * Raw PCM on stdin. No probing: `avformat_find_stream_info` would otherwise read ~1 s of PCM before
 * the first packet is encoded, and a real-time listener keeps that backlog as delay.
 */
export function pcmStdinInputArgs(format: PcmFormat, sampleRate: number, channels: number): string[] {
  assertPositiveInteger(sampleRate, 'sample rate');
  assertPositiveInteger(channels, 'channel count');
  return ['-probesize', '32', '-analyzeduration', '0', '-f', format, '-ar', String(sampleRate), '-ac', String(channels), '-i', '-'];
}

/**
 * A WAV on stdin (see wav-feed.ts), in packets of at most `packetBytes` (≥ 1024): the encoder
 * gets each few ms of audio as it comes. No probing, as for raw PCM.
 */
export function wavStdinInputArgs(packetBytes: number): string[] {
  if (!Number.isInteger(packetBytes) || packetBytes < 1024) throw new RangeError(`WAV packet size must be a whole number of bytes >= 1024, got ${packetBytes}`);
  return ['-probesize', '32', '-analyzeduration', '0', '-f', 'wav', '-max_size', String(packetBytes), '-i', '-'];
}

/** A sine test tone at 48 kHz from lavfi. */
export function toneInputArgs(frequency: number, options: { durationSeconds?: number; realtime?: boolean } = {}): string[] {
  assertPositive(frequency, 'tone frequency');
  let spec = `sine=frequency=${frequency}:sample_rate=${SAMPLE_RATE}`;
  if (options.durationSeconds !== undefined) {
    assertPositive(options.durationSeconds, 'tone duration');
    spec += `:duration=${options.durationSeconds}`;
  }
  return [...(options.realtime === false ? [] : ['-re']), '-f', 'lavfi', '-i', spec];
}

export function captureInputArgs(source: CaptureSource): string[] {
  switch (source.kind) {
    case 'device':
      return deviceCaptureArgs(source.backend, source.device);
    case 'file':
      return fileInputArgs(source.path, source.realtime ?? true);
    case 'pcm':
      return pcmStdinInputArgs(source.format, source.sampleRate, source.channels);
    case 'wav-stdin':
      return wavStdinInputArgs(source.packetBytes);
    case 'tone':
      return toneInputArgs(source.frequency, {
        ...(source.durationSeconds === undefined ? {} : { durationSeconds: source.durationSeconds }),
        ...(source.realtime === undefined ? {} : { realtime: source.realtime }),
      });
  }
}

// ---------------------------------------------------------------------------------------------
// Encoder (talk output)

/**
 * libopus in Ogg on stdout, pages flushed as soon as they are full so a listener never waits for one.
 * Measured (docs/decisions/2026-11-24-latency-frames-and-pages.md): 10 ms frames in 20 ms pages are heard as early as
 * 20 ms frames on a pipe and ~20 ms earlier from a PulseAudio microphone (87 vs 108 ms device to
 * device), for the same 37 kbit/s on the wire; 10 ms pages (`lowLatency`) save ~13 ms more for
 * ~13 kbit/s of Ogg page headers. `-flush_packets 1` measured as a no-op on ffmpeg 5.1 pipes; kept
 * for other versions.
 */
export function opusOggOutputArgs(options: OpusOptions = {}): string[] {
  const bitrate = options.bitrateKbps ?? DEFAULT_BITRATE_KBPS;
  if (!Number.isInteger(bitrate) || bitrate < 6 || bitrate > 510) {
    throw new RangeError(`Opus bitrate must be a whole number of kbit/s from 6 to 510, got ${bitrate}`);
  }
  const low = options.lowLatency ?? false;
  const frameMs = options.frameMs ?? OPUS_FRAME_MS;
  if (!OPUS_FRAME_SIZES.includes(frameMs)) throw new RangeError(`Opus frame duration must be one of ${OPUS_FRAME_SIZES.join(', ')} ms, got ${String(frameMs)}`);
  const pageMs = options.pageMs ?? (low ? frameMs : 2 * frameMs);
  const frames = pageMs / frameMs;
  if (!Number.isInteger(frames) || frames < 1 || pageMs > 1_000) throw new RangeError(`Ogg page duration must be a whole number of ${frameMs} ms frames up to 1 s, got ${pageMs}`);
  const application = options.application ?? (low ? 'lowdelay' : 'voip');
  return [
    '-c:a', 'libopus',
    '-b:a', `${bitrate}k`,
    '-ac', String(CHANNELS),
    '-ar', String(SAMPLE_RATE),
    '-application', application,
    '-frame_duration', String(frameMs),
    '-page_duration', String(Math.round(pageMs * 1000)),
    '-flush_packets', '1',
    '-f', 'ogg',
    '-',
  ];
}

/** A second output for a level meter: low-rate s16le mono on an extra pipe (the child's fd `fd`). */
export interface MeterTap {
  /** File descriptor in the child, ≥ 3 (e.g. execa `stdio: ['ignore', 'pipe', 'pipe', 'pipe']` → 3). */
  readonly fd: number;
  /** Default 8000 Hz: plenty for a level, 16 KB/s. */
  readonly sampleRate?: number;
}

export const DEFAULT_METER_RATE = 8_000;

/**
 * The meter output: ffmpeg maps the input's audio into every output that has no `-map`, so this
 * just adds a raw PCM output after the Ogg one; each output is written per packet.
 */
export function meterTapArgs(tap: MeterTap): string[] {
  if (!Number.isInteger(tap.fd) || tap.fd < 3) throw new RangeError(`meter fd must be a whole number ≥ 3, got ${tap.fd}`);
  const rate = tap.sampleRate ?? DEFAULT_METER_RATE;
  assertPositiveInteger(rate, 'meter sample rate');
  return ['-ac', String(CHANNELS), '-ar', String(rate), '-flush_packets', '1', '-f', 's16le', `pipe:${tap.fd}`];
}

/** The whole `talk` encoder command line (without the ffmpeg path). Stdout is the Ogg stream. */
/** A moment of capture thrown away: whether the device opens at all (`doctor`). */
export function captureCheckArgs(source: Extract<CaptureSource, { kind: 'device' }>): string[] {
  return [...QUIET_ARGS, ...stdinArgs(false), ...deviceCaptureArgs(source.backend, source.device), '-t', '0.2', '-f', 'null', '-'];
}

export function talkArgs(source: CaptureSource, opus: OpusOptions = {}, meter?: MeterTap): string[] {
  return [
    ...QUIET_ARGS,
    ...stdinArgs(source.kind === 'pcm'),
    ...captureInputArgs(source),
    ...opusOggOutputArgs(opus),
    ...(meter === undefined ? [] : meterTapArgs(meter)),
  ];
}

// ---------------------------------------------------------------------------------------------
// Decoder (listen)

/**
 * Ogg on stdin, no probing. `-f ogg` is the one that matters (probing reads ≥ 2 KiB ≈ 0.4 s of
 * Opus before any output); the rest trims start-up.
 */
export function oggStdinInputArgs(): string[] {
  return ['-fflags', 'nobuffer', '-flags', 'low_delay', '-probesize', '32', '-analyzeduration', '0', '-f', 'ogg', '-i', '-'];
}

/**
 * WebM/Opus on stdin: what a browser talker sends where it lacks WebCodecs' AudioEncoder (its
 * MediaRecorder writes WebM, not Ogg). The same no-probing flags; the demuxer is matroska's.
 */
export function webmStdinInputArgs(): string[] {
  return ['-fflags', 'nobuffer', '-flags', 'low_delay', '-probesize', '32', '-analyzeduration', '0', '-f', 'matroska', '-i', '-'];
}

/**
 * A WebM/Opus stream on stdin remuxed to Ogg/Opus on stdout, packets copied, one page per 20 ms:
 * what lets a browser talker's MediaRecorder stream join the listener's one Ogg decoder.
 */
export function webmToOggArgs(): string[] {
  return [...QUIET_ARGS, ...webmStdinInputArgs(), '-map', '0:a:0', '-c:a', 'copy', '-page_duration', '20000', '-flush_packets', '1', '-f', 'ogg', '-'];
}



/** Pulse playback with a 20 ms buffer. The sink comes from `-device`; the last argument only names the stream. */
export function pulsePlaybackArgs(device?: string, streamName = DEFAULT_STREAM_NAME): string[] {
  return [
    '-f', 'pulse',
    '-buffer_duration', String(PULSE_BUFFER_MS),
    ...(device === undefined ? [] : ['-device', device]),
    streamName,
  ];
}

/** ALSA playback; ffmpeg's alsa muxer takes the device as its "file name". */
export function alsaPlaybackArgs(device = 'default'): string[] {
  return ['-f', 'alsa', device];
}

/** macOS playback through AudioToolbox; the file name is ignored. */
export function audiotoolboxPlaybackArgs(deviceIndex?: number): string[] {
  if (deviceIndex !== undefined && (!Number.isInteger(deviceIndex) || deviceIndex < 0)) {
    throw new RangeError(`audiotoolbox device index must be a whole number ≥ 0, got ${deviceIndex}`);
  }
  return ['-f', 'audiotoolbox', ...(deviceIndex === undefined ? [] : ['-audio_device_index', String(deviceIndex)]), '-'];
}

/** WAV, s16le 48 kHz mono, to `path` or stdout (`-`). Streamed WAV has 0xFFFFFFFF sizes. */
export function wavOutputArgs(path: string): string[] {
  const toStdout = path === '-';
  const target = !toStdout && path.startsWith('-') ? `file:${path}` : path;
  return [
    '-c:a', 'pcm_s16le',
    '-ar', String(SAMPLE_RATE),
    '-ac', String(CHANNELS),
    ...(toStdout ? ['-flush_packets', '1'] : []),
    '-f', 'wav',
    target,
  ];
}

/** Headerless s16le 48 kHz mono on stdout. */
export function pcmStdoutOutputArgs(): string[] {
  return ['-flush_packets', '1', '-f', 's16le', '-ar', String(SAMPLE_RATE), '-ac', String(CHANNELS), '-'];
}

export function playbackOutputArgs(target: PlaybackTarget): string[] {
  switch (target.kind) {
    case 'pulse':
      return pulsePlaybackArgs(target.device, target.streamName);
    case 'alsa':
      return alsaPlaybackArgs(target.device);
    case 'audiotoolbox':
      return audiotoolboxPlaybackArgs(target.deviceIndex);
    case 'wav':
      return wavOutputArgs(target.path);
    case 'pcm':
      return pcmStdoutOutputArgs();
  }
}

/**
 * The whole `listen` decoder command line (without the ffmpeg path). Stdin is the stream (Ogg, or
 * WebM from a browser talker without WebCodecs), so no
 * `-nostdin`; a WAV file target gets `-n` (or `-y` with `overwrite`), because ffmpeg would otherwise
 * ask "Overwrite? [y/N]" and read the answer from stdin, which is the stream.
 */
export function listenArgs(target: PlaybackTarget): string[] {
  const overwrite = target.kind === 'wav' && target.path !== '-' ? [target.overwrite === true ? '-y' : '-n'] : [];
  return [...QUIET_ARGS, ...overwrite, ...oggStdinInputArgs(), ...playbackOutputArgs(target)];
}

/**
 * listen's decoder when a playout stage runs between decoder and player (listener.ts): Ogg on stdin,
 * 32-bit float mono 48 kHz PCM on stdout, each packet as soon as it is decoded.
 */
export function decodeToFloatArgs(): string[] {
  return [...QUIET_ARGS, ...oggStdinInputArgs(), '-flush_packets', '1', '-f', 'f32le', '-ar', String(SAMPLE_RATE), '-ac', String(CHANNELS), '-'];
}

/**
 * The player's WAV input: 64-bit float mono, read in packets of 1280 bytes: 160 samples, 3.3 ms. The
 * wav demuxer waits until a packet is full, so a packet that does not divide an Opus frame (480
 * samples) leaves the end of every page waiting for the next one, 10–20 ms later, and a real-time
 * player keeps that as delay: 1024-byte packets (128 samples, 7.5 a 20 ms page) measured ~10 ms later
 * than whole ones. (`-max_size` takes no less than 1024 bytes; an integer PCM WAV would also make the
 * demuxer read 64 KiB first, looking for S/PDIF.)
 */
export const PLAYER_PACKET_FRAMES = 160;
export const PLAYER_PACKET_BYTES = PLAYER_PACKET_FRAMES * 8;

/**
 * listen's player behind the playout stage: the WAV above on stdin (header and samples written by
 * the playout stage), to the target. The same `-n`/`-y` rule as `listenArgs` for a WAV file.
 */
export function playFloatWavArgs(target: PlaybackTarget): string[] {
  const overwrite = target.kind === 'wav' && target.path !== '-' ? [target.overwrite === true ? '-y' : '-n'] : [];
  return [...QUIET_ARGS, ...overwrite, ...wavStdinInputArgs(PLAYER_PACKET_BYTES), ...playbackOutputArgs(target)];
}

// ---------------------------------------------------------------------------------------------
// Backend choice

export interface BackendChoice {
  readonly capture: CaptureBackend;
  /** null: ffmpeg has no audio output device on this platform (Windows); play WAV on stdout with another player. */
  readonly playback: PlaybackBackend | null;
}

export interface BackendContext {
  /** A PulseAudio (or PipeWire-pulse) server answers. Only consulted on Linux. */
  readonly pulseAvailable: boolean;
  /**
   * The device formats this ffmpeg build has (from `probeFfmpeg`). When given, a backend missing from
   * the build is not chosen (static builds often lack pulse).
   */
  readonly inputDevices?: readonly string[];
  readonly outputDevices?: readonly string[];
}

/** Capture/playback backends for a platform: Linux prefers pulse when a server answers, else ALSA. */
/** Whether a device format is in the build's list; an unknown list (not probed) counts as yes. */
function has(list: readonly string[] | undefined, name: string): boolean {
  return list === undefined || list.includes(name);
}

export function backendFor(platform: Platform, context: BackendContext): BackendChoice {
  switch (platform) {
    case 'darwin':
      return { capture: 'avfoundation', playback: has(context.outputDevices, 'audiotoolbox') ? 'audiotoolbox' : null };
    case 'win32':
      return { capture: 'dshow', playback: null };
    case 'linux': {
      const capture = context.pulseAvailable && has(context.inputDevices, 'pulse') ? 'pulse' : 'alsa';
      // A build without pulse and alsa output (some static ones) plays through an external player.
      let playback: PlaybackBackend | null = null;
      if (context.pulseAvailable && has(context.outputDevices, 'pulse')) playback = 'pulse';
      else if (has(context.outputDevices, 'alsa')) playback = 'alsa';
      return { capture, playback };
    }
  }
}

/** Narrows `process.platform` to the platforms we build commands for; null for the others. */
export function toPlatform(value: string): Platform | null {
  return value === 'linux' || value === 'darwin' || value === 'win32' ? value : null;
}
