import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { findOnPath } from '../../src/audio/ffmpeg.js';
import { floatToS16le, testFfmpeg } from '../helpers/audio.js';
import { tempDir } from '../helpers/calls.js';
import { BIN } from '../helpers/cli.js';
import { dominantFrequency, s16leToFloat, sine } from '../helpers/goertzel.js';
import { skipWithoutPulse, startPulse } from '../helpers/pulse.js';
import { sleep, startRelay, uniqueName, waitFor } from '../helpers/relay.js';

const PCM = ['--raw', '--format=s16le', '--rate=48000', '--channels=1'];

test('the device path: talk captures the default PulseAudio source, listen plays to the default sink', async (t) => {
  const pulse = await startPulse();
  if (pulse === null) return skipWithoutPulse(t, 'PulseAudio (pulseaudio, pactl, pacat, parec) is not installed');
  t.after(() => pulse.stop());
  // The "mic" is hc_mic's monitor and the "speaker" hc_spk, set as defaults so that nothing plays into the mic.
  await pulse.pactl('set-default-source', 'hc_mic.monitor');
  await pulse.pactl('set-default-sink', 'hc_spk');
  const env = { ...process.env, ...pulse.env };
  const { url } = await startRelay(t);
  const name = uniqueName();

  const mouth = execa('pacat', ['--playback', ...PCM, '--device=hc_mic'], { env, input: floatToS16le(sine(1000, 48_000, 6)), reject: false });
  const ear = execa('parec', [...PCM, '--device=hc_spk.monitor'], { env, encoding: 'buffer', reject: false });
  t.after(() => {
    mouth.kill('SIGKILL');
    ear.kill('SIGKILL');
  });
  const listener = execa(process.execPath, [BIN, 'listen', name, '--server', url.origin], { env, reject: false });
  const talker = execa(process.execPath, [BIN, 'talk', name, '--server', url.origin], { env, reject: false });
  t.after(() => {
    talker.kill('SIGKILL');
    listener.kill('SIGKILL');
  });
  let talkErr = '';
  talker.stderr?.setEncoding('utf8').on('data', (chunk: string) => (talkErr += chunk));
  // Timed from the call's start, not from the spawn: a loaded machine starts processes slowly.
  await waitFor(() => /on air/.test(talkErr), 'the talker on air', 10_000);
  await sleep(3_000);
  talker.kill('SIGINT');
  const talked = await talker;
  const listened = await listener;
  ear.kill('SIGTERM');
  const recording = Buffer.from((await ear).stdout);
  assert.equal(talked.exitCode, 0, String(talked.stderr));
  assert.equal(listened.exitCode, 0, String(listened.stderr));
  assert.match(String(talked.stderr), /call ended after/);
  const samples = s16leToFloat(recording);
  assert.ok(samples.length > 48_000 * 2, `parec recorded only ${samples.length} samples`);
  // The last two seconds of what the speaker played, well inside the call.
  const heard = samples.subarray(samples.length - 48_000 * 2);
  assert.equal(dominantFrequency(heard, 48_000, [440, 1000, 1500]).frequency, 1000);
  const rms = Math.sqrt(heard.reduce((sum, value) => sum + value * value, 0) / heard.length);
  assert.ok(rms > 0.05, `the speaker played near silence (rms ${rms.toFixed(4)})`);
});

/** The real ffmpeg, with its output devices left out of `-devices`: what a build without pulse or alsa reports. */
async function ffmpegWithoutOutputDevices(dir: string): Promise<string> {
  const ffmpeg = path.join(dir, 'ffmpeg');
  const real = await testFfmpeg();
  await writeFile(ffmpeg, `#!/bin/sh\ncase " $* " in\n  *" -devices "*) "${real}" "$@" | sed -E 's/^ ([D ])E / \\1  /' ;;\n  *) exec "${real}" "$@" ;;\nesac\n`, { mode: 0o755 });
  return ffmpeg;
}

for (const player of ['ffplay', 'mpv'] as const) {
  test(`where ffmpeg has no audio output device, listen plays through ${player} (here into the default PulseAudio sink)`, async (t) => {
    const playerPath = await findOnPath(player, process.env, process.platform);
    if (playerPath === null) return t.skip(`${player} is not installed`);
    const pulse = await startPulse();
    if (pulse === null) return skipWithoutPulse(t, 'PulseAudio (pulseaudio, pactl, pacat, parec) is not installed');
    t.after(() => pulse.stop());
    await pulse.pactl('set-default-sink', 'hc_spk');
    const dir = await tempDir(t, 'hc-no-output-');
    const ffmpeg = await ffmpegWithoutOutputDevices(dir);
    // A PATH with this player only (and sed for the wrapper), so that mpv is not passed over for ffplay.
    const bin = path.join(dir, 'bin');
    await mkdir(bin);
    for (const tool of [playerPath, await findOnPath('sed', process.env, process.platform)]) {
      if (tool !== null) await symlink(tool, path.join(bin, path.basename(tool)));
    }
    const env = { ...process.env, ...pulse.env, PATH: bin };

    const doctor = await execa(process.execPath, [BIN, 'doctor', '--ffmpeg', ffmpeg, '--server', 'http://127.0.0.1:1'], { env, reject: false });
    assert.match(doctor.stdout, new RegExp(`^ok   playback via ${player} \\(${path.join(bin, player)}\\): this ffmpeg has no output device here$`, 'm'));

    const { url } = await startRelay(t);
    const name = uniqueName();
    const ear = execa('parec', [...PCM, '--device=hc_spk.monitor'], { env: { ...process.env, ...pulse.env }, encoding: 'buffer', reject: false });
    const listener = execa(process.execPath, [BIN, 'listen', name, '--server', url.origin, '--ffmpeg', ffmpeg], { env, reject: false });
    const talker = execa(process.execPath, [BIN, 'talk', name, '--server', url.origin, '--tone', '1000'], { env: { ...process.env, ...pulse.env }, reject: false });
    t.after(() => {
      for (const child of [ear, listener, talker]) child.kill('SIGKILL');
    });
    await sleep(3_000);
    const players = await execa('pgrep', ['-P', String(listener.pid)], { reject: false });
    assert.equal(players.exitCode, 0, `listen runs ${player}`);
    talker.kill('SIGINT');
    assert.equal((await talker).exitCode, 0);
    const listened = await listener;
    assert.equal(listened.exitCode, 0, String(listened.stderr));
    assert.match(String(listened.stderr), /call ended/);
    ear.kill('SIGTERM');
    const samples = s16leToFloat(Buffer.from((await ear).stdout));
    const heard = samples.subarray(samples.length - 48_000 * 2);
    assert.equal(dominantFrequency(heard, 48_000, [440, 1000, 1500]).frequency, 1000);
    const rms = Math.sqrt(heard.reduce((sum, value) => sum + value * value, 0) / heard.length);
    assert.ok(rms > 0.05, `the speaker played near silence (rms ${rms.toFixed(4)})`);
    for (const pid of players.stdout.split('\n').map(Number)) assert.throws(() => process.kill(pid, 0), `no ${player} is left`);
  });
}

test('ffplay that cannot open a speaker (it exits 0 all the same): listen says so in one line, exit 4, the talker sees the listener leave', async (t) => {
  const ffplay = await findOnPath('ffplay', process.env, process.platform);
  if (ffplay === null) return t.skip('ffplay is not installed');
  const dir = await tempDir(t, 'hc-no-speaker-');
  const ffmpeg = await ffmpegWithoutOutputDevices(dir);
  // No sound server, no sound card: SDL has nowhere to play.
  const env = { ...process.env, PULSE_SERVER: `unix:${path.join(dir, 'no-such-socket')}`, AUDIODEV: 'hw:99' };
  const { url } = await startRelay(t);
  const name = uniqueName();
  const listener = execa(process.execPath, [BIN, 'listen', name, '--server', url.origin, '--ffmpeg', ffmpeg], { env, reject: false });
  const talker = execa(process.execPath, [BIN, 'talk', name, '--server', url.origin, '--tone', '440'], { reject: false });
  t.after(() => {
    talker.kill('SIGKILL');
    listener.kill('SIGKILL');
  });
  const listened = await listener;
  assert.equal(listened.exitCode, 4, String(listened.stderr));
  assert.match(String(listened.stderr), /^hoodycall: no speaker \(cannot open the playback device\): .*audio open failed$/m);
  assert.equal(String(listened.stderr).trim().split('\n').filter((line) => line.startsWith('hoodycall:')).length, 1);
  const talked = await talker;
  assert.equal(talked.exitCode, 0, String(talked.stderr));
});
