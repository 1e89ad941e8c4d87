/**
 * Listing capture/playback devices: the ffmpeg arguments per backend, pure parsers of their output,
 * and one small runner. Listing output is info-level, so these commands must not pass `-loglevel error`.
 */
import { execa } from 'execa';
import type { CaptureBackend, PlaybackBackend } from './args.js';

export interface AudioDevice {
  /** What to pass as the device (`-i NAME` / `-device NAME` / `audio=NAME` / `:INDEX`). */
  readonly name: string;
  readonly description: string;
  readonly isDefault: boolean;
}

export interface DeviceList {
  readonly devices: AudioDevice[];
  /** Set when ffmpeg said it cannot list (`Cannot list sources: …`), e.g. no pulse server answers. */
  readonly error?: string;
}

/** Where the listing is printed, and what to run, for each backend and direction. */
export interface DeviceListCommand {
  readonly args: string[];
  /** `-sources`/`-sinks` print on stdout; dshow/avfoundation log on stderr (and exit non-zero). */
  readonly stream: 'stdout' | 'stderr';
  readonly parse: (output: string) => DeviceList;
}

/** `ffmpeg -sources pulse` / `-sinks alsa` …: the generic avdevice listing. */
export function sourcesArgs(backend: 'pulse' | 'alsa', kind: 'sources' | 'sinks'): string[] {
  return ['-hide_banner', `-${kind}`, backend];
}

/** `ffmpeg -list_devices true -f dshow -i dummy`: prints devices on stderr, exits 1 ("Immediate exit requested"). */
export function dshowListArgs(): string[] {
  return ['-hide_banner', '-nostdin', '-list_devices', 'true', '-f', 'dshow', '-i', 'dummy'];
}

/** `ffmpeg -f avfoundation -list_devices true -i ""`: prints video then audio devices on stderr, exits 1. */
export function avfoundationListArgs(): string[] {
  return ['-hide_banner', '-nostdin', '-f', 'avfoundation', '-list_devices', 'true', '-i', ''];
}

/**
 * Output of `ffmpeg -sources BACKEND` / `-sinks BACKEND` (fftools print_device_sources):
 * ```
 * Auto-detected sources for pulse:
 * * alsa_input.pci-0000_00_1f.3.analog-stereo [Built-in Audio Analog Stereo] (audio)
 *   hc_mic.monitor [Monitor of Null Output] (audio)
 * ```
 * `*` marks the default. On failure: `Cannot list sources: Generic error in an external library`
 * (pulse with no server). For a format missing from the build ffmpeg prints nothing and exits 0.
 */
export function parseSourcesOutput(output: string): DeviceList {
  const devices: AudioDevice[] = [];
  let error: string | undefined;
  let header = false;
  for (const line of output.split(/\r?\n/)) {
    if (/^Auto-detected (?:sources|sinks) for /.test(line)) header = true;
    const failed = /^Cannot list (?:sources|sinks): (.*)$/.exec(line.trim());
    if (failed !== null) {
      error = failed[1] ?? 'unknown error';
      continue;
    }
    // Names have no spaces; descriptions may contain brackets, so take the last "] (" as the end.
    const match = /^([* ]) (\S+) \[(.*)\] \(([^()]*)\)\s*$/.exec(line);
    if (match === null) continue;
    devices.push({ name: match[2] ?? '', description: match[3] ?? '', isDefault: match[1] === '*' });
  }
  // ffmpeg prints nothing at all (and exits 0) for a device format it was built without.
  if (!header && error === undefined) error = 'this ffmpeg has no such device format';
  return error === undefined ? { devices } : { devices, error };
}

/**
 * dshow's listing on stderr. ffmpeg ≥ 4.4:
 * ```
 * [dshow @ 0000…] "Microphone (Realtek(R) Audio)" (audio)
 * [dshow @ 0000…]   Alternative name "@device_cm_{33D9A762-…}\wave_{…}"
 * ```
 * Older builds print "DirectShow audio devices" headers and the names without the `(audio)` suffix.
 * Only audio devices are returned; the name is what goes after `audio=`.
 */
export function parseDshowDevices(stderr: string): DeviceList {
  const devices: AudioDevice[] = [];
  let section: 'audio' | 'video' | null = null;
  for (const raw of stderr.split(/\r?\n/)) {
    const line = raw.replace(/^\[[^\]]*\]\s?/, '');
    if (/DirectShow video devices/i.test(line)) section = 'video';
    else if (/DirectShow audio devices/i.test(line)) section = 'audio';
    if (/^\s*Alternative name/i.test(line)) continue;
    const match = /^\s*"(.+)"(?:\s+\((audio|video|none|audio, video|video, audio)\))?\s*$/.exec(line);
    if (match === null || match[1] === undefined) continue;
    const type = match[2];
    const isAudio = type === undefined ? section === 'audio' : type.includes('audio');
    if (isAudio) devices.push({ name: match[1], description: match[1], isDefault: false });
  }
  return { devices };
}

/**
 * avfoundation's listing on stderr:
 * ```
 * [AVFoundation indev @ 0x7f…] AVFoundation video devices:
 * [AVFoundation indev @ 0x7f…] [0] FaceTime HD Camera
 * [AVFoundation indev @ 0x7f…] AVFoundation audio devices:
 * [AVFoundation indev @ 0x7f…] [0] MacBook Pro Microphone
 * ```
 * Returns the audio devices; the name is `:INDEX`, ready for `-i`.
 */
export function parseAvfoundationDevices(stderr: string): DeviceList {
  const devices: AudioDevice[] = [];
  let inAudio = false;
  for (const raw of stderr.split(/\r?\n/)) {
    const line = raw.replace(/^\[[^\]]*\]\s?/, '');
    if (/AVFoundation video devices/i.test(line)) inAudio = false;
    else if (/AVFoundation audio devices/i.test(line)) inAudio = true;
    else if (inAudio) {
      const match = /^\[(\d+)\] (.+)$/.exec(line.trim());
      if (match?.[1] !== undefined && match[2] !== undefined) {
        devices.push({ name: `:${match[1]}`, description: match[2], isDefault: match[1] === '0' });
      }
    }
  }
  return { devices };
}

/** The command that lists capture devices (`kind: 'capture'`) or playback devices for a backend; null when ffmpeg has no listing for it. */
export function deviceListCommand(backend: CaptureBackend | PlaybackBackend, kind: 'capture' | 'playback'): DeviceListCommand | null {
  switch (backend) {
    case 'pulse':
    case 'alsa':
      return { args: sourcesArgs(backend, kind === 'capture' ? 'sources' : 'sinks'), stream: 'stdout', parse: parseSourcesOutput };
    case 'dshow':
      return kind === 'capture' ? { args: dshowListArgs(), stream: 'stderr', parse: parseDshowDevices } : null;
    case 'avfoundation':
      return kind === 'capture' ? { args: avfoundationListArgs(), stream: 'stderr', parse: parseAvfoundationDevices } : null;
    case 'audiotoolbox':
      return null;
  }
}

export interface ListOptions {
  /** The whole environment for ffmpeg (e.g. with PULSE_SERVER); defaults to this process's. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Runs a listing. A listing that ffmpeg cannot make comes back with `error` set, not as a throw. */
export async function listDevices(
  ffmpegPath: string,
  backend: CaptureBackend | PlaybackBackend,
  kind: 'capture' | 'playback',
  options: ListOptions = {},
): Promise<DeviceList> {
  const command = deviceListCommand(backend, kind);
  if (command === null) return { devices: [], error: `ffmpeg cannot list ${backend} ${kind} devices` };
  const result = await execa(ffmpegPath, command.args, {
    reject: false,
    stdin: 'ignore',
    timeout: 10_000,
    ...(options.env === undefined ? {} : { env: options.env, extendEnv: false }),
  });
  if (result.exitCode === undefined) return { devices: [], error: (result.shortMessage ?? '').split('\n')[0] ?? 'ffmpeg did not run' };
  return command.parse(command.stream === 'stdout' ? result.stdout : result.stderr);
}

/**
 * Whether a PulseAudio (or PipeWire-pulse) server answers, asked through ffmpeg itself:
 * `-sources pulse` prints "Cannot list sources" when none does. False when this ffmpeg lacks pulse.
 */
export async function pulseAvailable(ffmpegPath: string, options: ListOptions = {}): Promise<boolean> {
  const list = await listDevices(ffmpegPath, 'pulse', 'capture', options);
  return list.error === undefined;
}
