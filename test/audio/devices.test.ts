import test from 'node:test';
import assert from 'node:assert/strict';
import {
  avfoundationListArgs,
  deviceListCommand,
  dshowListArgs,
  listDevices,
  parseAvfoundationDevices,
  parseDshowDevices,
  parseSourcesOutput,
  pulseAvailable,
  sourcesArgs,
} from '../../src/audio/devices.js';
import { SINKS_ALSA_5_1, SINKS_PULSE_5_1, SOURCES_ALSA_5_1, SOURCES_PULSE_5_1, SOURCES_PULSE_NO_SERVER_5_1 } from './ffmpeg-samples.js';
import { testFfmpeg } from '../helpers/audio.js';

test('listing arguments per backend', () => {
  assert.deepEqual(sourcesArgs('pulse', 'sources'), ['-hide_banner', '-sources', 'pulse']);
  assert.deepEqual(sourcesArgs('alsa', 'sinks'), ['-hide_banner', '-sinks', 'alsa']);
  assert.deepEqual(dshowListArgs(), ['-hide_banner', '-nostdin', '-list_devices', 'true', '-f', 'dshow', '-i', 'dummy']);
  assert.deepEqual(avfoundationListArgs(), ['-hide_banner', '-nostdin', '-f', 'avfoundation', '-list_devices', 'true', '-i', '']);
  assert.deepEqual(deviceListCommand('pulse', 'playback')?.args, ['-hide_banner', '-sinks', 'pulse']);
  assert.equal(deviceListCommand('dshow', 'capture')?.stream, 'stderr');
  assert.equal(deviceListCommand('avfoundation', 'capture')?.stream, 'stderr');
  assert.equal(deviceListCommand('audiotoolbox', 'playback'), null);
  for (const command of [deviceListCommand('alsa', 'capture'), deviceListCommand('pulse', 'capture')]) {
    assert.ok(command !== null && !command.args.includes('-loglevel'), 'listings are info-level output');
  }
});

test('parseSourcesOutput: real alsa and pulse-without-server outputs', () => {
  assert.deepEqual(parseSourcesOutput(SOURCES_ALSA_5_1), {
    devices: [{ name: 'null', description: 'Discard all samples (playback) or generate zero samples (capture)', isDefault: false }],
  });
  assert.equal(parseSourcesOutput(SINKS_ALSA_5_1).devices[0]?.name, 'null');
  assert.deepEqual(parseSourcesOutput(SOURCES_PULSE_NO_SERVER_5_1), { devices: [], error: 'Generic error in an external library' });
  // A format the build lacks: ffmpeg prints nothing and exits 0.
  assert.deepEqual(parseSourcesOutput(''), { devices: [], error: 'this ffmpeg has no such device format' });
});

test('parseSourcesOutput: real pulse sources and sinks (null sinks; media type prints as "none" in 5.1)', () => {
  assert.deepEqual(parseSourcesOutput(SOURCES_PULSE_5_1), {
    devices: [
      { name: 'hc_mic.monitor', description: 'Monitor of Null Output', isDefault: true },
      { name: 'hc_spk.monitor', description: 'Monitor of Null Output', isDefault: false },
    ],
  });
  assert.deepEqual(parseSourcesOutput(SINKS_PULSE_5_1), {
    devices: [
      { name: 'hc_mic', description: 'Null Output', isDefault: false },
      { name: 'hc_spk', description: 'Null Output', isDefault: true },
    ],
  });
});

test('parseSourcesOutput: pulse with devices, default marked, brackets in descriptions', () => {
  const output = [
    'Auto-detected sources for pulse:',
    '  hc_spk.monitor [Monitor of Null Output] (audio)',
    '* hc_mic.monitor [Monitor of Null Output] (audio)',
    '  alsa_input.usb-Logitech_USB_Headset-00.mono-fallback [USB Headset [Logitech] Mono] (audio)',
    '',
  ].join('\n');
  assert.deepEqual(parseSourcesOutput(output), {
    devices: [
      { name: 'hc_spk.monitor', description: 'Monitor of Null Output', isDefault: false },
      { name: 'hc_mic.monitor', description: 'Monitor of Null Output', isDefault: true },
      { name: 'alsa_input.usb-Logitech_USB_Headset-00.mono-fallback', description: 'USB Headset [Logitech] Mono', isDefault: false },
    ],
  });
});

test('parseDshowDevices: new (typed) and old (sectioned) formats, audio only', () => {
  const modern = [
    '[dshow @ 000001c8a1f3e8c0] "Integrated Camera" (video)',
    '[dshow @ 000001c8a1f3e8c0]   Alternative name "@device_pnp_\\\\?\\usb#vid_04f2&pid_b6d9"',
    '[dshow @ 000001c8a1f3e8c0] "Microphone Array (Realtek(R) Audio)" (audio)',
    '[dshow @ 000001c8a1f3e8c0]   Alternative name "@device_cm_{33D9A762-90C8-11D0-BD43-00A0C911CE86}\\wave_{A1B2}"',
    '[dshow @ 000001c8a1f3e8c0] "Headset (Jabra EVOLVE 20)" (audio)',
    'dummy: Immediate exit requested',
  ].join('\r\n');
  assert.deepEqual(parseDshowDevices(modern).devices.map((device) => device.name), ['Microphone Array (Realtek(R) Audio)', 'Headset (Jabra EVOLVE 20)']);
  const old = [
    '[dshow @ 0000000002d1a0a0] DirectShow video devices (some may be both video and audio devices)',
    '[dshow @ 0000000002d1a0a0]  "USB2.0 HD UVC WebCam"',
    '[dshow @ 0000000002d1a0a0]     Alternative name "@device_pnp_x"',
    '[dshow @ 0000000002d1a0a0] DirectShow audio devices',
    '[dshow @ 0000000002d1a0a0]  "Microphone (Realtek High Definition Audio)"',
    '[dshow @ 0000000002d1a0a0]     Alternative name "@device_cm_y"',
  ].join('\n');
  assert.deepEqual(parseDshowDevices(old).devices.map((device) => device.name), ['Microphone (Realtek High Definition Audio)']);
  assert.deepEqual(parseDshowDevices('').devices, []);
});

test('parseAvfoundationDevices: audio section, names as :INDEX', () => {
  const output = [
    '[AVFoundation indev @ 0x7f9b6c004a00] AVFoundation video devices:',
    '[AVFoundation indev @ 0x7f9b6c004a00] [0] FaceTime HD Camera',
    '[AVFoundation indev @ 0x7f9b6c004a00] [1] Capture screen 0',
    '[AVFoundation indev @ 0x7f9b6c004a00] AVFoundation audio devices:',
    '[AVFoundation indev @ 0x7f9b6c004a00] [0] MacBook Pro Microphone',
    '[AVFoundation indev @ 0x7f9b6c004a00] [1] BlackHole 2ch',
    ': Input/output error',
  ].join('\n');
  assert.deepEqual(parseAvfoundationDevices(output).devices, [
    { name: ':0', description: 'MacBook Pro Microphone', isDefault: true },
    { name: ':1', description: 'BlackHole 2ch', isDefault: false },
  ]);
});

test('listDevices and pulseAvailable against the real ffmpeg', async () => {
  const ffmpeg = await testFfmpeg();
  const alsa = await listDevices(ffmpeg, 'alsa', 'capture');
  assert.equal(alsa.error, undefined);
  assert.ok(alsa.devices.some((device) => device.name === 'null'), JSON.stringify(alsa));
  const pulse = await listDevices(ffmpeg, 'pulse', 'capture');
  const available = await pulseAvailable(ffmpeg);
  assert.equal(available, pulse.error === undefined);
  // Without a server (this container unless PULSE_SERVER points at one) the listing says why.
  if (!available) assert.match(pulse.error ?? '', /\S/);
  assert.deepEqual(await listDevices(ffmpeg, 'audiotoolbox', 'playback'), { devices: [], error: 'ffmpeg cannot list audiotoolbox playback devices' });
});
