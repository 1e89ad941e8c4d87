/**
 * A real terminal for CLI tests: hoodycall in a tmux pane (a pty: isTTY, the spinner, escape codes,
 * ctrl-C and key presses as a person makes them) on a private tmux server.
 */
import { randomBytes } from 'node:crypto';
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
  /**
   * A random tag in the environment of everything the command starts (HOODYCALL_TEST_TAG), so its
   * ffmpegs are found even in a process group of their own, or orphaned.
   */
  readonly tag: string;
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
  const tag = randomBytes(8).toString('hex');
  // bash, not the default sh: after a SIGINT its child handled (exit 0), bash goes on to record the status.
  await writeFile(script, `export ${TAG_VARIABLE}=${tag}\n${quoted}\necho $? > '${exitFile}'\n`);
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
    tag,
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

const TAG_VARIABLE = 'HOODYCALL_TEST_TAG';

/**
 * The ffmpeg processes a tagged command started (what ctrl-C must not leave behind), wherever they
 * are now: ffmpeg runs in a process group of its own, and an orphan would have a new parent.
 */
export async function ffmpegsTagged(tag: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = (await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '')).trim();
    if (comm !== 'ffmpeg') continue;
    const environ = await readFile(`/proc/${entry}/environ`, 'latin1').catch(() => '');
    if (environ.split('\0').includes(`${TAG_VARIABLE}=${tag}`)) found.push(Number(entry));
  }
  return found;
}
