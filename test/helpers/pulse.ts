/**
 * A private, headless PulseAudio server for device-path tests: two 48 kHz mono null sinks, `hc_mic`
 * (its monitor is the "microphone") and `hc_spk` (the "speaker", recorded through its monitor).
 * Nothing else is needed: no sound card, D-Bus or default.pa. Returns null when pulseaudio/pactl/pacat/parec are not installed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { findOnPath } from '../../src/audio/ffmpeg.js';

export interface PulseServer {
  /** The environment every client needs (PULSE_SERVER and the private HOME/XDG_RUNTIME_DIR). */
  readonly env: Record<string, string>;
  pactl(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

const TOOLS = ['pulseaudio', 'pactl', 'pacat', 'parec'];

export async function startPulse(): Promise<PulseServer | null> {
  for (const tool of TOOLS) {
    if ((await findOnPath(tool, process.env, process.platform)) === null) return null;
  }
  const root = await mkdtemp(path.join(tmpdir(), 'hc-pulse-'));
  const runtime = path.join(root, 'runtime');
  const home = path.join(root, 'home');
  await mkdir(runtime, { mode: 0o700 });
  await mkdir(home);
  const socket = path.join(root, 'native');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    XDG_RUNTIME_DIR: runtime,
    PULSE_SERVER: `unix:${socket}`,
  };
  const daemon: ChildProcess = spawn('pulseaudio', [
    '-n', '--daemonize=no', '--exit-idle-time=-1', '--use-pid-file=no', '--disallow-exit', '--disable-shm=yes',
    `--log-target=file:${path.join(root, 'daemon.log')}`,
    '-L', `module-native-protocol-unix socket=${socket} auth-anonymous=1`,
    '-L', 'module-null-sink sink_name=hc_mic rate=48000 channels=1 format=s16le',
    '-L', 'module-null-sink sink_name=hc_spk rate=48000 channels=1 format=s16le',
  ], { env, stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
  const pactl = async (...args: string[]): Promise<string> => (await execa('pactl', args, { env, extendEnv: false, timeout: 5_000 })).stdout;
  const stop = async (): Promise<void> => {
    if (daemon.exitCode === null && daemon.signalCode === null) {
      daemon.kill('SIGTERM');
      const timer = setTimeout(() => daemon.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(root, { recursive: true, force: true });
  };
  const deadline = Date.now() + 8_000;
  for (;;) {
    try {
      await pactl('info');
      break;
    } catch (error) {
      if (Date.now() > deadline || daemon.exitCode !== null) {
        await stop();
        throw new Error(`PulseAudio did not start: ${error instanceof Error ? error.message : String(error)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return { env, pactl, stop };
}

/** CI installs PulseAudio (.ci/run): there a missing server is a failure, not a reason to skip. */
export function skipWithoutPulse(t: { skip(message: string): void }, reason: string): void {
  if (process.env['CI'] !== undefined) throw new Error(`the device-path test cannot run in CI: ${reason}`);
  t.skip(reason);
}
