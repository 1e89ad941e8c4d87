/**
 * A private PulseAudio daemon for the device path, with a "microphone" and a "speaker":
 * - `hc_mic` is a module-pipe-source: whatever the generator writes into its FIFO becomes the capture
 *   stream, paced by the generator itself (so the microphone delivers 10 ms blocks in real time);
 * - `hc_spk` is a null sink: listeners play into it and `parec` records `hc_spk.monitor`; a silent
 *   low-latency pacat stream stays connected to it so it runs like a sound card (see startPulse).
 * No sound card, D-Bus or default.pa is involved (a private server with its own socket). A common recipe feeds a
 * second null sink with `pacat` instead; here that `pacat` path added a random 0 or ~1.5–2 s delay in
 * front of the capture from run to run, where the pipe source adds ~0.2 ms (measured with parec).
 * The socket, runtime dir, FIFO and log live in a fresh directory under /tmp; every client gets
 * PULSE_SERVER pointing at it, so the machine's own PulseAudio (if any) is never touched.
 */
import { execFile } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { childEnv, forgetTempDir, registerTempDir, spawnGroup, stopGroup, type GroupProc } from './procs.js';

export const MIC_SOURCE = 'hc_mic';
export const SPK_SINK = 'hc_spk';
const KEEPALIVE_ARGS = ['--playback', '--raw', '--format=s16le', '--rate=48000', '--channels=1', '--latency-msec=10', `--device=${SPK_SINK}`];

export interface Pulse {
  readonly env: NodeJS.ProcessEnv;
  /** The microphone's FIFO, open for writing for the daemon's lifetime. */
  readonly mic: WriteStream;
  readonly dir: string;
  readonly proc: GroupProc;
  stop(): Promise<void>;
}

function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 5_000): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      resolve({ ok: error === null, out: `${stdout}${stderr}` });
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function startPulse(root: string, timeoutMs = 10_000): Promise<Pulse> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hc-bench-pulse-'));
  registerTempDir(dir);
  const runtime = path.join(dir, 'runtime');
  const home = path.join(dir, 'home');
  const socket = path.join(dir, 'native');
  const fifo = path.join(dir, 'mic.fifo');
  await mkdir(runtime, { recursive: true });
  await mkdir(home, { recursive: true });
  await chmod(runtime, 0o700);
  const daemonEnv = childEnv({ HOME: home, XDG_RUNTIME_DIR: runtime });
  const proc = spawnGroup(
    'pulseaudio',
    'pulseaudio',
    [
      '-n',
      '--daemonize=no',
      '--exit-idle-time=-1',
      '--use-pid-file=no',
      '--disallow-exit',
      '--disable-shm=yes',
      `--log-target=file:${path.join(dir, 'daemon.log')}`,
      '-L',
      `module-native-protocol-unix socket=${socket} auth-anonymous=1`,
      '-L',
      `module-pipe-source source_name=${MIC_SOURCE} file=${fifo} rate=48000 channels=1 format=s16le`,
      '-L',
      `module-null-sink sink_name=${SPK_SINK} rate=48000 channels=1 format=s16le`,
    ],
    { stdin: 'ignore', stdout: 'ignore', cwd: root, env: daemonEnv },
  );
  const env = childEnv({ PULSE_SERVER: `unix:${socket}`, HOME: home, XDG_RUNTIME_DIR: runtime });
  let mic: WriteStream | null = null;
  let keeper: GroupProc | null = null;
  const stop = async (): Promise<void> => {
    mic?.destroy();
    if (keeper !== null) await stopGroup(keeper);
    await stopGroup(proc, 2_000);
    await rm(dir, { recursive: true, force: true });
    forgetTempDir(dir);
  };
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (proc.exitInfo() !== null) break;
    const sinks = await run('pactl', ['list', 'short', 'sinks'], env);
    const sources = await run('pactl', ['list', 'short', 'sources'], env);
    last = `${sinks.out} ${sources.out}`;
    if (sinks.ok && sources.ok && sinks.out.includes(SPK_SINK) && sources.out.includes(MIC_SOURCE)) {
      // The defaults are what a talker/listener without a device option uses.
      await run('pactl', ['set-default-sink', SPK_SINK], env);
      await run('pactl', ['set-default-source', MIC_SOURCE], env);
      // The daemon holds the FIFO open, so this open does not block.
      const stream = createWriteStream(fifo);
      stream.on('error', () => undefined);
      mic = stream;
      // An idle null sink runs with a 2 s latency and renders that far ahead; a recorder on its monitor
      // then sees everything a player writes ~1–2 s late, for as long as the recording lasts (measured:
      // 0.96–1.6 s with a pacat or `ffmpeg -f pulse` player). A silent stream that asks for 10 ms keeps
      // the speaker at a sound card's pace; it only adds zeros to the mix. 2.5 s lets any earlier
      // render-ahead run out before the first measurement.
      keeper = spawnGroup('pacat-keepalive', 'bash', ['-c', `exec pacat ${KEEPALIVE_ARGS.join(' ')} </dev/zero`], {
        stdin: 'ignore',
        stdout: 'ignore',
        cwd: root,
        env,
      });
      await sleep(2_500);
      if (keeper.exitInfo() !== null) {
        const why = keeper.stderrTail();
        await stop();
        throw new Error(`the speaker keep-alive stream (pacat) exited: ${why}`);
      }
      return { env, mic: stream, dir, proc, stop };
    }
    await sleep(200);
  }
  const stderr = proc.stderrTail();
  await stop();
  throw new Error(`PulseAudio did not come up: ${last.trim()} ${stderr}`.trim());
}
