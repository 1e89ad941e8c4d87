/**
 * A real terminal for CLI tests: hoodycall in a tmux pane (a pty: isTTY, the spinner, escape codes,
 * ctrl-C and key presses as a person makes them) on a private tmux server.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { execa } from 'execa';
import { BIN } from './cli.js';
import { sleep } from './relay.js';

// eslint-disable-next-line no-control-regex -- the point is to find control characters
export const ESCAPE = /\u001b/;
/** ora's default (dots) frames: one of them on screen means the spinner ran. */
export const SPINNER_FRAME = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;

export async function hasTmux(): Promise<boolean> {
  return (await execa('tmux', ['-V'], { reject: false }).catch(() => ({ exitCode: 1 }))).exitCode === 0;
}

export interface Pane {
  /** Everything the program wrote to the terminal, raw (escape codes included), via `pipe-pane`. */
  raw(): Promise<string>;
  /** The exit status of the command, once it has exited. */
  exitCode(): Promise<number | null>;
  /** What the terminal shows now (rendered: spinner redraws resolved), one string per non-empty line. */
  screen(): Promise<string[]>;
  /** Presses ctrl-C in the pane: the terminal sends SIGINT to its foreground process group. */
  ctrlC(): Promise<void>;
  /** Types `keys` literally (no key names), as a person would. */
  type(keys: string): Promise<void>;
  /** The pane's shell pid: a session leader, so its pid is the session id of everything in the pane. */
  readonly sessionId: number;
}

/**
 * Runs `args` (a hoodycall command) in a fresh tmux server on its own socket, 200×50, with the
 * environment of the test minus `CI` (ora turns its spinner off when `CI` is set, and a terminal
 * test has to see what a person at a terminal sees). The server is killed when the test ends.
 */
export async function inTerminal(t: TestContext, args: readonly string[]): Promise<Pane> {
  const dir = await mkdtemp(path.join(tmpdir(), 'hoodycall-tty-'));
  // A private server on a socket inside the temp dir: no other tmux is touched, and removing the dir removes it.
  const socket = path.join(dir, 'tmux.sock');
  const rawFile = path.join(dir, 'raw');
  const exitFile = path.join(dir, 'exit');
  const script = path.join(dir, 'run.sh');
  const quoted = [process.execPath, BIN, ...args].map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(' ');
  // bash, not the default sh: after a SIGINT its child handled (exit 0), bash goes on to record the status.
  await writeFile(script, `${quoted}\necho $? > '${exitFile}'\n`);
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color' };
  delete env['CI'];
  const tmux = (...tmuxArgs: string[]): Promise<string> =>
    execa('tmux', ['-S', socket, ...tmuxArgs], { env, extendEnv: false }).then((result) => result.stdout);
  t.after(async () => {
    await execa('tmux', ['-S', socket, 'kill-server'], { reject: false });
    await rm(dir, { recursive: true, force: true });
  });
  // The pane starts an idle shell first, so that pipe-pane is attached before hoodycall writes anything.
  await tmux('new-session', '-d', '-s', 'S', '-x', '200', '-y', '50', `bash -c 'read -r _; exec bash "${script}"'`);
  // The pane stays after the command exits, so its last screen can still be read.
  await tmux('set-option', '-t', 'S', 'remain-on-exit', 'on');
  await tmux('pipe-pane', '-t', 'S', '-o', `cat >> '${rawFile}'`);
  const sessionId = Number(await tmux('display-message', '-p', '-t', 'S', '#{pane_pid}'));
  await tmux('send-keys', '-t', 'S', 'Enter');
  const read = (file: string): Promise<string> => readFile(file, 'utf8').catch(() => '');
  return {
    raw: () => read(rawFile),
    exitCode: async () => {
      const text = (await read(exitFile)).trim();
      return text === '' ? null : Number(text);
    },
    screen: async () =>
      (await tmux('capture-pane', '-p', '-t', 'S'))
        .split('\n')
        .map((line) => line.trim())
        // tmux's own note under a pane whose command has exited (remain-on-exit).
        .filter((line) => line !== '' && !line.startsWith('Pane is dead')),
    ctrlC: async () => {
      await tmux('send-keys', '-t', 'S', 'C-c');
    },
    type: async (keys) => {
      await tmux('send-keys', '-t', 'S', '-l', keys);
    },
    sessionId,
  };
}

/** Polls a pane's raw output until it matches. */
export async function untilOutput(pane: Pane, pattern: RegExp, what: string, timeoutMs = 10_000): Promise<string> {
  let last = '';
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; terminal so far: ${JSON.stringify(last)}`);
    await sleep(50);
    last = await pane.raw();
  }
  return last;
}

export async function untilExit(pane: Pane, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const code = await pane.exitCode();
    if (code !== null) return code;
    if (Date.now() > deadline) throw new Error(`the command did not exit within ${timeoutMs} ms; terminal: ${JSON.stringify(await pane.raw())}`);
    await sleep(50);
  }
}

/** ffmpeg processes in a session: what ctrl-C must not leave behind. Reads /proc/PID/stat (field 6 is the session). */
export async function ffmpegsInSession(sessionId: number): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // comm is in parentheses and may hold spaces; the fields after it are space-separated.
    const close = stat.lastIndexOf(')');
    if (close < 0 || stat.slice(stat.indexOf('(') + 1, close) !== 'ffmpeg') continue;
    const fields = stat.slice(close + 2).split(' ');
    // After comm: state(3) ppid(4) pgrp(5) session(6) → index 3 of what follows.
    if (Number(fields[3]) === sessionId) found.push(Number(entry));
  }
  return found;
}

