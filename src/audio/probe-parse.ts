/** Pure parsers for `ffmpeg -hide_banner -version`, `-encoders` and `-devices` output. */

/** `ffmpeg version 5.1.9-0+deb12u1 Copyright …` → `5.1.9-0+deb12u1`; null when the first line is not that. */
export function parseFfmpegVersion(output: string): string | null {
  const match = /^\s*ffmpeg version (\S+)/m.exec(output);
  return match?.[1] ?? null;
}

/** The encoders of one media type listed by `ffmpeg -encoders` (`A..... libopus  libopus Opus (codec opus)`). */
export function parseEncoders(output: string, type: 'audio' | 'video' | 'subtitle' = 'audio'): string[] {
  const letter = type === 'audio' ? 'A' : type === 'video' ? 'V' : 'S';
  const names: string[] = [];
  let listing = false;
  for (const line of output.split(/\r?\n/)) {
    if (!listing) {
      // The flag legend ends with a " ------" line.
      if (/^\s*-{3,}\s*$/.test(line)) listing = true;
      continue;
    }
    const match = /^\s*([A-Z.])[A-Z.]{5}\s+(\S+)/.exec(line);
    if (match?.[1] === letter && match[2] !== undefined) names.push(match[2]);
  }
  return names;
}

export function hasEncoder(encodersOutput: string, name: string): boolean {
  return parseEncoders(encodersOutput, 'audio').includes(name);
}

export interface DeviceFormats {
  /** Demuxers (`D`): capture, e.g. `pulse`, `alsa`, `lavfi`. Aliases (`video4linux2,v4l2`) are listed separately. */
  readonly inputDevices: string[];
  /** Muxers (`E`): playback/output, e.g. `pulse`, `alsa`. */
  readonly outputDevices: string[];
}

/**
 * `ffmpeg -devices`:
 * ```
 * Devices:
 *  D. = Demuxing supported
 *  .E = Muxing supported
 *  --
 *  DE alsa            ALSA audio output
 *   E sdl,sdl2        SDL2 output device
 * ```
 */
export function parseDevices(output: string): DeviceFormats {
  const inputDevices: string[] = [];
  const outputDevices: string[] = [];
  let listing = false;
  for (const line of output.split(/\r?\n/)) {
    if (!listing) {
      if (/^\s*-{2,}\s*$/.test(line)) listing = true;
      continue;
    }
    const match = /^ ([D ])([E ]) (\S+)/.exec(line);
    if (match === null) continue;
    const names = (match[3] ?? '').split(',').filter((name) => name !== '');
    if (match[1] === 'D') inputDevices.push(...names);
    if (match[2] === 'E') outputDevices.push(...names);
  }
  return { inputDevices, outputDevices };
}
