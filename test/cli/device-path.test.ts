import test from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { floatToS16le } from '../helpers/audio.js';
import { BIN } from '../helpers/cli.js';
import { dominantFrequency, s16leToFloat, sine } from '../helpers/goertzel.js';
import { skipWithoutPulse, startPulse } from '../helpers/pulse.js';
import { sleep, startRelay, uniqueName } from '../helpers/relay.js';

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
  await sleep(3_500);
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
