/**
 * Finding ffmpeg and checking what it can do.
 *
 * Discovery order: an explicit path (`--ffmpeg PATH`), `$HOODYCALL_FFMPEG`, the `ffmpeg-static`
 * package (optional; its binary may be missing even when the package is installed), then `ffmpeg`
 * on PATH. An explicit path or env value that does not resolve is an error, never a silent fallback.
 */
import { constants as fsConstants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { parseDevices, parseFfmpegVersion, hasEncoder } from './probe-parse.js';

export const FFMPEG_ENV = 'HOODYCALL_FFMPEG';

export type FfmpegSource = 'option' | 'env' | 'ffmpeg-static' | 'path';

export interface FfmpegLocation {
  /** Absolute path of the binary. */
  readonly path: string;
  readonly source: FfmpegSource;
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface DiscoverOptions {
  /** `--ffmpeg PATH`: a file path, or a bare command name looked up on PATH. */
  readonly explicitPath?: string | undefined;
  /** Defaults to process.env. */
  readonly env?: Env;
  /** Defaults to process.platform; decides PATH syntax, `.exe` and the install hint. */
  readonly platform?: NodeJS.Platform;
  /** Defaults to importing `ffmpeg-static`; resolves to its binary path, or null when not installed. */
  readonly ffmpegStatic?: () => Promise<string | null>;
  /** Base for relative paths; defaults to process.cwd(). */
  readonly cwd?: string;
}

/** Base class of the ffmpeg errors; every message is one line meant for the user. */
export class FfmpegError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FfmpegError';
  }
}

/** `--ffmpeg` or `$HOODYCALL_FFMPEG` names something that is not an executable file. */
export class FfmpegNotFoundError extends FfmpegError {
  readonly source: 'option' | 'env';
  readonly requested: string;

  constructor(requested: string, source: 'option' | 'env', reason: string) {
    const from = source === 'option' ? '--ffmpeg' : `$${FFMPEG_ENV}`;
    super(`ffmpeg from ${from} not usable: ${requested} ${reason}`);
    this.name = 'FfmpegNotFoundError';
    this.source = source;
    this.requested = requested;
  }
}

/** No ffmpeg anywhere we look. */
export class FfmpegMissingError extends FfmpegError {
  readonly hint: string;

  constructor(platform: NodeJS.Platform) {
    const hint = installHint(platform);
    super(`ffmpeg not found (looked at $${FFMPEG_ENV}, ffmpeg-static and PATH); install it with: ${hint}; or pass --ffmpeg PATH`);
    this.name = 'FfmpegMissingError';
    this.hint = hint;
  }
}

/** The ffmpeg found has no libopus encoder (some minimal builds). */
export class FfmpegNoLibopusError extends FfmpegError {
  readonly ffmpegPath: string;

  constructor(ffmpegPath: string, platform: NodeJS.Platform = process.platform) {
    super(`ffmpeg at ${ffmpegPath} has no libopus encoder; install a full build (${installHint(platform)}) or pass --ffmpeg PATH`);
    this.name = 'FfmpegNoLibopusError';
    this.ffmpegPath = ffmpegPath;
  }
}

/** Running `ffmpeg -version` failed, or its output is not ffmpeg's. */
export class FfmpegProbeError extends FfmpegError {
  readonly ffmpegPath: string;

  constructor(ffmpegPath: string, reason: string) {
    super(`cannot run ffmpeg at ${ffmpegPath}: ${reason}`);
    this.name = 'FfmpegProbeError';
    this.ffmpegPath = ffmpegPath;
  }
}

/** The command that installs ffmpeg on `platform`, as one line. */
export function installHint(platform: string): string {
  switch (platform) {
    case 'linux':
      return 'sudo apt-get install ffmpeg (Debian/Ubuntu; Fedora: sudo dnf install ffmpeg; Arch: sudo pacman -S ffmpeg)';
    case 'darwin':
      return 'brew install ffmpeg';
    case 'win32':
      return 'winget install ffmpeg';
    case 'freebsd':
      return 'pkg install ffmpeg';
    default:
      return "your system's package manager (the package is usually called ffmpeg)";
  }
}

/** Why `file` cannot be run, or null when it is an executable regular file. */
async function unusableReason(file: string, platform: NodeJS.Platform): Promise<string | null> {
  try {
    const info = await stat(file);
    if (!info.isFile()) return 'is not a file';
  } catch {
    return 'does not exist';
  }
  if (platform === 'win32') return null;
  try {
    await access(file, fsConstants.X_OK);
    return null;
  } catch {
    return 'is not executable';
  }
}

/** Reads an env var; on Windows names are case-insensitive (`Path`). Empty counts as unset. */
function envValue(env: Env, name: string, platform: NodeJS.Platform): string | undefined {
  let value = env[name];
  if (value === undefined && platform === 'win32') {
    const key = Object.keys(env).find((candidate) => candidate.toUpperCase() === name.toUpperCase());
    value = key === undefined ? undefined : env[key];
  }
  return value === undefined || value === '' ? undefined : value;
}

/** On Windows only `NAME.exe` runs (a `.cmd` shim would need a shell); elsewhere the name as is. */
function executableNames(command: string, platform: NodeJS.Platform): string[] {
  if (platform !== 'win32' || path.extname(command) !== '') return [command];
  return [`${command}.exe`];
}

/** Whether `file` is an executable regular file (on Windows: a regular file). */
export async function isExecutableFile(file: string, platform: NodeJS.Platform = process.platform): Promise<boolean> {
  return (await unusableReason(file, platform)) === null;
}

/** Searches PATH for `command`, as the shell would; null when it is not there. Empty entries (cwd) are skipped. */
export async function findOnPath(command: string, env: Env, platform: NodeJS.Platform): Promise<string | null> {
  const pathValue = envValue(env, 'PATH', platform);
  if (pathValue === undefined) return null;
  const delimiter = platform === 'win32' ? ';' : ':';
  for (const dir of pathValue.split(delimiter)) {
    const trimmed = platform === 'win32' ? dir.replace(/^"(.*)"$/, '$1') : dir;
    if (trimmed === '') continue;
    for (const name of executableNames(command, platform)) {
      const candidate = path.resolve(trimmed, name);
      if ((await unusableReason(candidate, platform)) === null) return candidate;
    }
  }
  return null;
}

function looksLikePath(value: string, platform: NodeJS.Platform): boolean {
  return value.includes('/') || (platform === 'win32' && value.includes('\\')) || value.startsWith('.');
}

async function resolveRequested(requested: string, source: 'option' | 'env', options: Required<Pick<DiscoverOptions, 'env' | 'platform' | 'cwd'>>): Promise<FfmpegLocation> {
  if (!looksLikePath(requested, options.platform)) {
    const found = await findOnPath(requested, options.env, options.platform);
    if (found === null) throw new FfmpegNotFoundError(requested, source, 'is not on PATH');
    return { path: found, source };
  }
  const absolute = path.resolve(options.cwd, requested);
  const reason = await unusableReason(absolute, options.platform);
  if (reason !== null) throw new FfmpegNotFoundError(requested, source, reason);
  return { path: absolute, source };
}

/** The path `ffmpeg-static` reports, or null when the package is not installed. */
export async function importFfmpegStatic(): Promise<string | null> {
  // A variable specifier keeps TypeScript from requiring the optional package at build time.
  const specifier = 'ffmpeg-static';
  try {
    const module: unknown = await import(specifier);
    const value = typeof module === 'object' && module !== null && 'default' in module ? module.default : null;
    return typeof value === 'string' && value !== '' ? value : null;
  } catch {
    return null;
  }
}

/** Finds ffmpeg (see the module comment for the order). Throws FfmpegNotFoundError or FfmpegMissingError. */
export async function discoverFfmpeg(options: DiscoverOptions = {}): Promise<FfmpegLocation> {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const cwd = options.cwd ?? process.cwd();
  const resolved = { env, platform, cwd };

  if (options.explicitPath !== undefined && options.explicitPath !== '') {
    return resolveRequested(options.explicitPath, 'option', resolved);
  }
  const fromEnv = envValue(env, FFMPEG_ENV, platform);
  if (fromEnv !== undefined) return resolveRequested(fromEnv, 'env', resolved);

  const staticPath = await (options.ffmpegStatic ?? importFfmpegStatic)().catch(() => null);
  // ffmpeg-static returns its path even when its install-time download failed: check the file.
  if (staticPath !== null) {
    const absolute = path.resolve(cwd, staticPath);
    if ((await unusableReason(absolute, platform)) === null) return { path: absolute, source: 'ffmpeg-static' };
  }

  const onPath = await findOnPath('ffmpeg', env, platform);
  if (onPath !== null) return { path: onPath, source: 'path' };
  throw new FfmpegMissingError(platform);
}

export interface FfmpegInfo {
  /** e.g. `5.1.9-0+deb12u1`. */
  readonly version: string;
  readonly hasLibopus: boolean;
  /** Device demuxers (`-f pulse -i …`), e.g. `alsa`, `pulse`, `lavfi`. */
  readonly inputDevices: string[];
  /** Device muxers (`-f pulse NAME`), e.g. `alsa`, `pulse`. */
  readonly outputDevices: string[];
}

const PROBE_TIMEOUT_MS = 15_000;

async function runForStdout(ffmpegPath: string, args: string[]): Promise<string> {
  const result = await execa(ffmpegPath, args, { reject: false, stdin: 'ignore', timeout: PROBE_TIMEOUT_MS, stripFinalNewline: false });
  if (result.failed && result.exitCode === undefined) {
    const cause = result.cause;
    const code = typeof cause === 'object' && cause !== null && 'code' in cause ? String(cause.code) : '';
    throw new FfmpegProbeError(ffmpegPath, code !== '' ? code : (result.shortMessage ?? '').split('\n')[0] ?? 'failed to start');
  }
  if (result.exitCode !== 0) {
    const last = result.stderr.trim().split(/\r?\n/).pop() ?? '';
    throw new FfmpegProbeError(ffmpegPath, `ffmpeg ${args.join(' ')} exited with ${result.exitCode}${last === '' ? '' : `: ${last}`}`);
  }
  return result.stdout;
}

/** Runs `ffmpeg -version`, `-encoders` and `-devices` and reads what this build can do. */
export async function probeFfmpeg(ffmpegPath: string): Promise<FfmpegInfo> {
  const [versionOut, encodersOut, devicesOut] = await Promise.all([
    runForStdout(ffmpegPath, ['-hide_banner', '-version']),
    runForStdout(ffmpegPath, ['-hide_banner', '-encoders']),
    runForStdout(ffmpegPath, ['-hide_banner', '-devices']),
  ]);
  const version = parseFfmpegVersion(versionOut);
  if (version === null) throw new FfmpegProbeError(ffmpegPath, 'its -version output does not look like ffmpeg');
  return { version, hasLibopus: hasEncoder(encodersOut, 'libopus'), ...parseDevices(devicesOut) };
}

/** Throws FfmpegNoLibopusError unless the build has the libopus encoder. */
export function requireLibopus(info: FfmpegInfo, ffmpegPath: string, platform: NodeJS.Platform = process.platform): void {
  if (!info.hasLibopus) throw new FfmpegNoLibopusError(ffmpegPath, platform);
}

/** Discovery, probe and the libopus check in one call: what `talk`/`listen` need before starting. */
export async function locateFfmpeg(options: DiscoverOptions = {}): Promise<FfmpegLocation & FfmpegInfo> {
  const location = await discoverFfmpeg(options);
  const info = await probeFfmpeg(location.path);
  requireLibopus(info, location.path, options.platform ?? process.platform);
  return { ...location, ...info };
}
