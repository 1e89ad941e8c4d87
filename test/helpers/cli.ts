/**
 * The real CLI as a child process: `node bin/hoodycall.js …`, with its output captured and the process
 * killed when the test ends if it is still running.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import type { Writable } from 'node:stream';

/** bin/hoodycall.js at the repository root; this file runs from dist/test/helpers/. */
export const BIN = fileURLToPath(new URL('../../../bin/hoodycall.js', import.meta.url));

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Milliseconds from the spawn to the exit. */
  readonly afterMs: number;
}

export interface CliProcess {
  readonly child: ChildProcess;
  readonly startedAt: number;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<Exit>;
  /** Whether the process has exited yet. */
  hasExited(): boolean;
}

/**
 * The reaper of this test process's CLI children, for when the test process dies without ending its
 * tests (killed at the file's --test-timeout): `t.after` never runs then, and a relay whose stdout
 * closes goes on serving (it must: `serve | head -1`). One `sh` per test process, in a process group
 * of its own, reads the children's pids on a pipe from us; when that pipe closes, which the kernel does
 * when we die, it SIGKILLs those still running hoodycall (a pid's cmdline is checked, so a reused pid
 * is left alone). A test that ends normally has already stopped its children: then it kills nothing.
 */
let reaper: Writable | undefined;
function reapOnDeath(pid: number): void {
  if (reaper === undefined) {
    const script = 'pids=$(cat); for p in $pids; do grep -qs hoodycall "/proc/$p/cmdline" && kill -KILL "$p" 2>/dev/null; done; exit 0';
    const child = spawn('sh', ['-c', script], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    child.unref();
    const stdin = child.stdin;
    if (stdin === null) return;
    // The pipe must not keep our event loop alive; it closes when we exit, whatever way.
    (stdin as Writable & { unref?: () => void }).unref?.();
    stdin.on('error', () => undefined);
    reaper = stdin;
  }
  reaper.write(`${pid}\n`);
}

/** Spawns `node bin/hoodycall.js ...args`; killed with SIGKILL when the test ends, if still running. */
export function runCli(t: TestContext, args: readonly string[], options: { readonly env?: NodeJS.ProcessEnv } = {}): CliProcess {
  const startedAt = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(options.env === undefined ? {} : { env: options.env }) });
  if (child.pid !== undefined) reapOnDeath(child.pid);
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  let done = false;
  const exited = new Promise<Exit>((resolve) => {
    child.once('close', (code, signal) => {
      done = true;
      resolve({ code, signal, afterMs: Date.now() - startedAt });
    });
  });
  t.after(async () => {
    if (!done) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return { child, startedAt, stdout: () => out, stderr: () => err, exited, hasExited: () => done };
}

export interface ServeProcess extends CliProcess {
  /** The base URL from the `listening on` line, e.g. http://127.0.0.1:43121/ */
  readonly url: URL;
  readonly port: number;
  pipeUrl(name: string): string;
}

const LISTENING = /^hoodycall relay listening on (\S+)\n/;

/** Starts `hoodycall serve ...args` and waits for its `listening on` line (5 s at most). */
export async function startServe(t: TestContext, args: readonly string[]): Promise<ServeProcess> {
  const cli = runCli(t, ['serve', ...args]);
  const deadline = Date.now() + 5_000;
  let match = LISTENING.exec(cli.stdout());
  while (match === null) {
    if (cli.hasExited() || Date.now() > deadline) {
      throw new Error(`hoodycall serve did not start; stdout: ${JSON.stringify(cli.stdout())} stderr: ${JSON.stringify(cli.stderr())}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
    match = LISTENING.exec(cli.stdout());
  }
  const url = new URL(match[1] ?? '');
  return {
    ...cli,
    url,
    port: Number(url.port),
    pipeUrl: (name) => new URL(`/api/v1/pipe/${name}`, url).href,
  };
}

/** Whether a process is still there (an ffmpeg that must not outlive its command). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Hangs up the talker (ctrl-C) and waits for both sides: a hang-up is a clean end (exit 0) for both. */
export async function hangUpBoth(talker: CliProcess, listener: CliProcess): Promise<void> {
  talker.child.kill('SIGINT');
  const [talkExit, listenExit] = await Promise.all([talker.exited, listener.exited]);
  assert.equal(talkExit.code, 0, talker.stderr());
  assert.equal(listenExit.code, 0, listener.stderr());
}

/** Waits until a talk and a listen process both say they are back after a gap; fails with both outputs. */
export async function untilBothBack(talker: CliProcess, listener: CliProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(/back on air after a [\d.]+ s gap/.test(talker.stderr()) && /back after a [\d.]+ s gap/.test(listener.stderr()))) {
    if (Date.now() > deadline) throw new Error(`not both back within ${timeoutMs} ms\ntalk: ${talker.stderr()}\nlisten: ${listener.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
