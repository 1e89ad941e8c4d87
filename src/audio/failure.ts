/**
 * Mapping a failed ffmpeg run's stderr to a cause the CLI can explain in one line.
 *
 * Samples from ffmpeg 5.1 with `-loglevel error` (ALSA library chatter comes first, whatever the log level):
 * - alsa capture, no card:  `[alsa @ 0x…] cannot open audio device default (No such file or directory)` then `default: Input/output error`
 * - alsa playback, no card: the same first line, then `Could not write header for output file #0 (incorrect codec parameters ?): Input/output error`
 * - pulse capture, no server: `default: No such process`
 * - pulse playback, no server: `[PulseAudio outdev @ 0x…] Cannot connect context: Access denied.` then `Could not write header …`
 * - pulse capture, unknown source: `nosuch: Input/output error`
 * - pulse playback, unknown sink: `[PulseAudio outdev @ 0x…] Stream failed.` then `Could not write header …`
 * - missing file: `/x.wav: No such file or directory`; not media: `bad.wav: Invalid data found when processing input`
 * - `-f ogg -i -` fed nothing, or no Ogg at all: `pipe:: End of file`
 * - `-n` and the file exists: `File 'x.wav' already exists. Exiting.`
 * ffmpeg 6+ adds `Error opening input file X.` / `Error opening output file X.` lines, also understood here.
 */

export type FfmpegFailureCause =
  /** The capture device could not be opened: no microphone, no sound server, wrong device name. */
  | 'no-input-device'
  /** The playback device could not be opened: no speaker, no sound server, wrong sink name. */
  | 'no-output-device'
  /** This ffmpeg build lacks the device format (`Unknown input format: 'pulse'`). */
  | 'backend-unavailable'
  /** `--input FILE` is missing, unreadable or not media (or the PCM on stdin was empty). */
  | 'bad-input-file'
  /** A WAV output path cannot be written. */
  | 'bad-output-file'
  /** `-n` and the output file exists. */
  | 'output-exists'
  /** The stream given to `listen` is not Ogg (or was empty). */
  | 'not-ogg'
  /** No libopus encoder in this build. */
  | 'no-libopus'
  | 'unknown';

export interface FfmpegFailure {
  readonly cause: FfmpegFailureCause;
  /** The stderr line that decided it, for messages; undefined for 'unknown'. */
  readonly line?: string;
}

/** Which command failed: talk's input is a device/file/stdin PCM, listen's input is always Ogg on stdin. */
export type FfmpegJob = 'talk' | 'listen';

const DEVICE_ERROR = [
  /cannot open audio device/i,
  /Cannot connect context/i,
  /pa_simple_new failed/i,
  /pa_context_connect/i,
  /Connection refused.*pulse|pulse.*Connection refused/i,
  /^\S+: No such process$/,
  // What a device demuxer's failed open leaves after its own message (`hw:5: Input/output error`).
  /^\S+: Input\/output error$/,
  /Could not (?:find|open) audio(?: only)? device/i,
  /Could not enumerate audio/i,
  /Could not open (?:input|output) device/i,
  /audio device .*not found/i,
  /AudioToolbox.*(?:error|fail)/i,
  /Error opening (?:audio|output) device/i,
  // ffplay (SDL) and mpv, the players of a build without output devices.
  /audio open failed|No available audio device/i,
  /Could not open\/initialize audio device/i,
];

/** At `-loglevel error`, anything a device (de)muxer logs under its own context is a failure to use the device. */
const DEVICE_CONTEXT = /^\[(?:PulseAudio outdev|pulse|alsa|oss|audiotoolbox|AudioToolbox|AVFoundation indev|avfoundation|dshow|openal|jack) @ [^\]]*\] /i;

const OUTPUT_STAGE = /Could not write header for output file|Error initializing output stream|Error opening output file/;
const FILE_ERROR = /^(.+?): (No such file or directory|Invalid data found when processing input|Permission denied|Is a directory|End of file|Operation not permitted)$/;
const PIPE_NAME = /^pipe:\d*$|^-$/;

function lines(stderr: string): string[] {
  return stderr.split(/\r?\n/).map((line) => line.trimEnd()).filter((line) => line.trim() !== '');
}

/** Strips the `[alsa @ 0x55…] ` context prefix ffmpeg puts on library messages. */
function stripContext(line: string): string {
  return line.replace(/^\[[^\]]*@ ?(?:0x)?[0-9a-f]*\] /i, '');
}

export function classifyFfmpegFailure(stderr: string, job?: FfmpegJob): FfmpegFailure {
  const all = lines(stderr);
  const plain = all.map(stripContext);
  const outputStage = all.some((line) => OUTPUT_STAGE.test(line));

  const find = (pattern: RegExp): string | undefined => plain.find((line) => pattern.test(line));

  const encoder = find(/Unknown encoder '(?:lib)?opus'|Encoder (?:\(codec \w+\) )?not found.*opus|libopus.*not found/i);
  if (encoder !== undefined) return { cause: 'no-libopus', line: encoder };

  const exists = find(/already exists\. Exiting\.?$/);
  if (exists !== undefined) return { cause: 'output-exists', line: exists };

  const unknownFormat = find(/Unknown (?:input|output) format: '(?:pulse|alsa|avfoundation|dshow|audiotoolbox|oss|openal)'|Requested output format '(?:pulse|alsa|audiotoolbox)' is not a suitable output format/);
  if (unknownFormat !== undefined) return { cause: 'backend-unavailable', line: unknownFormat };

  const deviceLine = DEVICE_ERROR.map(find).find((line) => line !== undefined)
    ?? all.filter((line) => DEVICE_CONTEXT.test(line)).map(stripContext)[0];
  if (deviceLine !== undefined) {
    const output = job === undefined ? outputStage : job === 'listen';
    return { cause: output ? 'no-output-device' : 'no-input-device', line: deviceLine };
  }

  // `NAME: reason` for a file or pipe that could not be opened or read.
  for (const line of plain) {
    const match = FILE_ERROR.exec(line);
    const name = match?.[1];
    if (match === null || name === undefined) continue;
    const isPipe = PIPE_NAME.test(name);
    if (isPipe) {
      // listen reads Ogg on stdin; talk reads PCM on stdin.
      if (job === 'talk') return { cause: 'bad-input-file', line };
      return { cause: 'not-ogg', line };
    }
    const output = job === 'listen' || (job === undefined && all.some((l) => /Error opening output file/.test(l)));
    return { cause: output ? 'bad-output-file' : 'bad-input-file', line };
  }
  const openInput = find(/Error opening input file (.+)\.$/);
  if (openInput !== undefined) return { cause: job === 'listen' ? 'not-ogg' : 'bad-input-file', line: openInput };
  const openOutput = find(/Error opening output file (.+)\.$/);
  if (openOutput !== undefined) return { cause: 'bad-output-file', line: openOutput };

  return { cause: 'unknown' };
}

/** The last `count` non-empty lines of stderr, for "ffmpeg said: …" in error messages. */
export function stderrTail(stderr: string, count = 5): string[] {
  if (count <= 0) return [];
  return lines(stderr).slice(-count);
}

/** One line for the user, e.g. `no microphone: cannot open audio device default (No such file or directory)`. */
export function describeFfmpegFailure(failure: FfmpegFailure, stderr = '', program = 'ffmpeg'): string {
  const detail = failure.line ?? stderrTail(stderr, 1)[0];
  const what: Record<FfmpegFailureCause, string> = {
    'no-input-device': 'no microphone (cannot open the capture device)',
    'no-output-device': 'no speaker (cannot open the playback device)',
    'backend-unavailable': 'this ffmpeg build lacks that audio device type',
    'bad-input-file': 'cannot read the input',
    'bad-output-file': 'cannot write the output file',
    'output-exists': 'the output file already exists',
    'not-ogg': 'the stream is not Ogg audio (or was empty)',
    'no-libopus': 'this ffmpeg has no libopus encoder',
    unknown: `${program} failed`,
  };
  return detail === undefined ? what[failure.cause] : `${what[failure.cause]}: ${detail}`;
}
