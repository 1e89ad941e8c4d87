/**
 * ctrl-C through a real terminal. `child.kill('SIGINT')` (talk-listen.test.ts) signals node alone; a
 * terminal signals the whole foreground process group, so ffmpeg gets the same SIGINT at the same
 * moment as node and may exit before node has asked it to. These tests run `hoodycall talk`/`listen`
 * in a tmux pane (a real pty: isTTY, the spinner, escape codes) on a private tmux server, and press
 * C-c with `tmux send-keys`, exactly as a person would.
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { BIN, runCli, startServe, type CliProcess } from '../helpers/cli.js';
import { sleep, uniqueName, waitFor } from '../helpers/relay.js';

// eslint-disable-next-line no-control-regex -- the point is to find control characters
const ESCAPE = /\u001b/;
/** ora's default (dots) frames: one of them on screen means the spinner ran. */
const SPINNER_FRAME = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;

async function hasTmux(): Promise<boolean> {
  return (await execa('tmux', ['-V'], { reject: false }).catch(() => ({ exitCode: 1 }))).exitCode === 0;
}

interface Pane {
  /** Everything the program wrote to the terminal, raw (escape codes included), via `pipe-pane`. */
  raw(): Promise<string>;
  /** The exit status of the command, once it has exited. */
  exitCode(): Promise<number | null>;
  /** What the terminal shows now (rendered: spinner redraws resolved), one string per non-empty line. */
  screen(): Promise<string[]>;
  /** Presses ctrl-C in the pane: the terminal sends SIGINT to its foreground process group. */
  ctrlC(): Promise<void>;
  /** The pane's shell pid: a session leader, so its pid is the session id of everything in the pane. */
  readonly sessionId: number;
}

/**
 * Runs `args` (a hoodycall command) in a fresh tmux server on its own socket, 200×50, with the
 * environment of the test minus `CI` (ora turns its spinner off when `CI` is set, and a terminal
 * test has to see what a person at a terminal sees). The server is killed when the test ends.
 */
async function inTerminal(t: TestContext, args: readonly string[]): Promise<Pane> {
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
    sessionId,
  };
}

/** Polls a pane's raw output until it matches. */
async function untilOutput(pane: Pane, pattern: RegExp, what: string, timeoutMs = 10_000): Promise<string> {
  let last = '';
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; terminal so far: ${JSON.stringify(last)}`);
    await sleep(50);
    last = await pane.raw();
  }
  return last;
}

async function untilExit(pane: Pane, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const code = await pane.exitCode();
    if (code !== null) return code;
    if (Date.now() > deadline) throw new Error(`the command did not exit within ${timeoutMs} ms; terminal: ${JSON.stringify(await pane.raw())}`);
    await sleep(50);
  }
}

/** ffmpeg processes in a session: what ctrl-C must not leave behind. Reads /proc/PID/stat (field 6 is the session). */
async function ffmpegsInSession(sessionId: number): Promise<number[]> {
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

async function ended(cli: CliProcess): Promise<number | null> {
  return (await cli.exited).code;
}

test('talk in a terminal: spinner while waiting, ctrl-C once connected hangs up (exit 0, one summary line), no ffmpeg left, the listener sees the end', async (t) => {
  if (!(await hasTmux())) return t.skip('tmux is not installed');
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const name = uniqueName();
  const talk = await inTerminal(t, ['talk', name, '--tone', '440', '--server', relay.url.origin]);
  const waiting = await untilOutput(talk, /waiting for a listener/, 'the waiting status');
  await sleep(300);
  const spun = await talk.raw();
  assert.match(spun, SPINNER_FRAME, `no spinner on the terminal while waiting: ${JSON.stringify(waiting)}`);
  assert.match(spun, ESCAPE, 'a terminal gets escape codes (the spinner redraws its line)');

  const listener = runCli(t, ['listen', name, '--server', relay.url.origin, '--output', path.join(tmpdir(), `${name}.wav`)]);
  t.after(() => rm(path.join(tmpdir(), `${name}.wav`), { force: true }));
  await untilOutput(talk, /on air/, 'talk to connect');
  await sleep(1_500);
  assert.ok((await ffmpegsInSession(talk.sessionId)).length > 0, 'talk runs its ffmpeg in the terminal session');
  await talk.ctrlC();
  assert.equal(await untilExit(talk), 0, await talk.raw());
  assert.deepEqual(await ffmpegsInSession(talk.sessionId), [], 'ffmpeg outlived talk after ctrl-C');
  const lines = await talk.screen();
  assert.match(lines.at(-1) ?? '', /call ended after 0:0\d, \d+ KiB sent/, JSON.stringify(lines));
  assert.equal(lines.filter((line) => /call ended/.test(line)).length, 1, `one summary line: ${JSON.stringify(lines)}`);
  assert.equal(await ended(listener), 0, listener.stderr());
  assert.match(listener.stderr(), /call ended: the talker hung up/);
  assert.doesNotMatch(listener.stderr(), ESCAPE, 'a listener on a pipe writes no escape codes');
});

test('talk in a terminal: ctrl-C while still waiting exits 130 with one line, no ffmpeg', async (t) => {
  if (!(await hasTmux())) return t.skip('tmux is not installed');
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const talk = await inTerminal(t, ['talk', uniqueName(), '--tone', '440', '--server', relay.url.origin]);
  await untilOutput(talk, /waiting for a listener/, 'the waiting status');
  await sleep(500);
  await talk.ctrlC();
  assert.equal(await untilExit(talk), 130, await talk.raw());
  assert.deepEqual(await ffmpegsInSession(talk.sessionId), []);
  const lines = await talk.screen();
  assert.deepEqual(lines.slice(-1), ['hoodycall: interrupted before anyone joined'], JSON.stringify(lines));
  assert.equal(lines.filter((line) => /interrupted/.test(line)).length, 1, JSON.stringify(lines));
});

test('listen in a terminal: spinner while waiting, ctrl-C once connected leaves (exit 0, "left …"), no ffmpeg left, the talker sees the hang-up', async (t) => {
  if (!(await hasTmux())) return t.skip('tmux is not installed');
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const name = uniqueName();
  const wav = path.join(tmpdir(), `${name}.wav`);
  t.after(() => rm(wav, { force: true }));
  const listen = await inTerminal(t, ['listen', name, '--server', relay.url.origin, '--output', wav]);
  await untilOutput(listen, /waiting for the talker/, 'the waiting status');
  await sleep(300);
  assert.match(await listen.raw(), SPINNER_FRAME, 'no spinner on the terminal while waiting');

  const talker = runCli(t, ['talk', name, '--tone', '440', '--server', relay.url.origin]);
  await untilOutput(listen, /connected to .*: listening/, 'listen to connect');
  await sleep(1_500);
  assert.ok((await ffmpegsInSession(listen.sessionId)).length > 0, 'listen runs its ffmpeg in the terminal session');
  await listen.ctrlC();
  assert.equal(await untilExit(listen), 0, await listen.raw());
  assert.deepEqual(await ffmpegsInSession(listen.sessionId), [], 'ffmpeg outlived listen after ctrl-C');
  const lines = await listen.screen();
  assert.match(lines.at(-1) ?? '', new RegExp(`left ${name} after 0:0\\d`), JSON.stringify(lines));
  assert.equal(await ended(talker), 0, talker.stderr());
  assert.match(talker.stderr(), /the listener hung up/);
  assert.doesNotMatch(talker.stderr(), ESCAPE, 'a talker on a pipe writes no escape codes');
});

test('talk --quiet in a terminal writes nothing at all, and ctrl-C still hangs up cleanly', async (t) => {
  if (!(await hasTmux())) return t.skip('tmux is not installed');
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const name = uniqueName();
  const talk = await inTerminal(t, ['talk', name, '--tone', '440', '--server', relay.url.origin, '--quiet']);
  const wav = path.join(tmpdir(), `${name}.wav`);
  t.after(() => rm(wav, { force: true }));
  const listener = runCli(t, ['listen', name, '--server', relay.url.origin, '--output', wav]);
  await waitFor(() => /connected to/.test(listener.stderr()), 'the listener to connect', 10_000);
  await sleep(1_000);
  await talk.ctrlC();
  assert.equal(await untilExit(talk), 0);
  assert.deepEqual(await ffmpegsInSession(talk.sessionId), []);
  // A terminal echoes ctrl-C as "^C"; anything beyond that came from hoodycall.
  assert.equal((await talk.raw()).replace(/\^C/g, '').trim(), '');
  assert.equal(await ended(listener), 0, listener.stderr());
});
