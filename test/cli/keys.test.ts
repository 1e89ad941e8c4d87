/**
 * Mute and push-to-talk from the keyboard, in a real terminal (tmux pane): what the listener hears
 * follows the keys.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test, { type TestContext } from 'node:test';
import { tempDir, wavSamples } from '../helpers/calls.js';
import { runCli, startServe, type CliProcess } from '../helpers/cli.js';
import { sleep, uniqueName } from '../helpers/relay.js';
import { hasTmux, inTerminal, untilExit, untilOutput, type Pane } from '../helpers/terminal.js';

/** Peak level of the samples between two times (s). */
function peak(samples: Float64Array, fromS: number, toS: number): number {
  return samples.subarray(Math.round(fromS * 48_000), Math.round(toS * 48_000)).reduce((max, value) => Math.max(max, Math.abs(value)), 0);
}

/** A listener recording to a file and `talk --tone 440 …extra` in a tmux pane, connected. */
async function callFromTerminal(t: TestContext, extra: readonly string[]): Promise<{ talk: Pane; listener: CliProcess; out: string }> {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const dir = await tempDir(t);
  const name = uniqueName();
  const out = path.join(dir, 'heard.wav');
  const listener = runCli(t, ['listen', name, '--server', relay.url.origin, '--output', out]);
  const talk = await inTerminal(t, ['talk', name, '--tone', '440', ...extra, '--server', relay.url.origin]);
  await untilOutput(talk, /on air/, 'talk to connect');
  return { talk, listener, out };
}

/** Hangs up with ctrl-C; both ends exit 0. Returns what the listener heard. */
async function hangUpAndHear(talk: Pane, listener: CliProcess, out: string): Promise<Float64Array> {
  await talk.ctrlC();
  assert.equal(await untilExit(talk), 0, await talk.raw());
  assert.equal((await listener.exited).code, 0, listener.stderr());
  return wavSamples(await readFile(out));
}

test('m mutes and unmutes a call from the terminal: the listener hears tone, then silence, then tone', async (t) => {
  if (!(await hasTmux())) return t.skip('tmux is not installed');
  const { talk, listener, out } = await callFromTerminal(t, []);
  await sleep(1_500);
  await talk.type('m');
  await untilOutput(talk, /MUTED/, 'the muted status', 3_000);
  await sleep(1_500);
  await talk.type('m');
  await sleep(1_500);
  const samples = await hangUpAndHear(talk, listener, out);
  const seconds = samples.length / 48_000;
  assert.ok(seconds > 3.5, `${seconds} s heard`);
  // Find the muted stretch: the longest run of exact zeros.
  let longest = 0;
  let run = 0;
  for (const value of samples) {
    run = value === 0 ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  assert.ok(longest / 48_000 > 1.0 && longest / 48_000 < 2.2, `muted for ${longest / 48_000} s`);
  assert.ok(peak(samples, 0.2, 1.0) > 0.05, 'the tone before muting');
  assert.ok(peak(samples, seconds - 1.0, seconds - 0.1) > 0.05, 'the tone after unmuting');
});

test('--push-to-talk: silent until space is held (its key repeat), then heard, then silent again', async (t) => {
  if (!(await hasTmux())) return t.skip('tmux is not installed');
  const { talk, listener, out } = await callFromTerminal(t, ['--push-to-talk']);
  await sleep(1_500);
  // A held key: presses every 50 ms, like a terminal's auto-repeat.
  const holdUntil = Date.now() + 1_500;
  while (Date.now() < holdUntil) {
    await talk.type(' ');
    await sleep(50);
  }
  await sleep(2_000);
  const samples = await hangUpAndHear(talk, listener, out);
  const seconds = samples.length / 48_000;
  let loud = 0;
  for (let at = 0; at + 0.1 <= seconds; at += 0.1) if (peak(samples, at, at + 0.1) > 0.05) loud += 0.1;
  // Held 1.5 s plus the 0.7 s the hold lasts after the last repeat.
  assert.ok(loud > 1.5 && loud < 2.8, `heard ${loud.toFixed(1)} s of ${seconds.toFixed(1)} s`);
  assert.ok(peak(samples, 0, 1.0) === 0, 'silent before space');
  assert.ok(peak(samples, seconds - 0.8, seconds) === 0, 'silent after release');
});
