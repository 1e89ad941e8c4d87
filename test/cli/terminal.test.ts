/**
 * ctrl-C through a real terminal. `child.kill('SIGINT')` (talk-listen.test.ts) signals node alone; a
 * terminal in cooked mode signals the whole foreground process group (ffmpeg too), and `talk` in raw
 * mode (for its keys) reads ctrl-C as a byte. These tests run `hoodycall talk`/`listen` in a tmux
 * pane (a real pty: isTTY, the spinner, escape codes) and press C-c with `tmux send-keys`, exactly as
 * a person would.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli, startServe, type CliProcess } from '../helpers/cli.js';
import { sleep, uniqueName, waitFor } from '../helpers/relay.js';
import { ESCAPE, ffmpegsTagged, hasTmux, inTerminal, SPINNER_FRAME, untilExit, untilOutput } from '../helpers/terminal.js';

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
  assert.ok((await ffmpegsTagged(talk.tag)).length > 0, 'talk runs its ffmpeg');
  await talk.ctrlC();
  assert.equal(await untilExit(talk), 0, await talk.raw());
  assert.deepEqual(await ffmpegsTagged(talk.tag), [], 'ffmpeg outlived talk after ctrl-C');
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
  assert.deepEqual(await ffmpegsTagged(talk.tag), []);
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
  assert.ok((await ffmpegsTagged(listen.tag)).length > 0, 'listen runs its ffmpeg');
  await listen.ctrlC();
  assert.equal(await untilExit(listen), 0, await listen.raw());
  assert.deepEqual(await ffmpegsTagged(listen.tag), [], 'ffmpeg outlived listen after ctrl-C');
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
  assert.deepEqual(await ffmpegsTagged(talk.tag), []);
  // A terminal echoes ctrl-C as "^C"; anything beyond that came from hoodycall.
  assert.equal((await talk.raw()).replace(/\^C/g, '').trim(), '');
  assert.equal(await ended(listener), 0, listener.stderr());
});
