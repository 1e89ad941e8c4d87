import test from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hasEncoder, parseDevices, parseEncoders, parseFfmpegVersion } from '../../src/audio/probe-parse.js';
import { FfmpegNoLibopusError, FfmpegProbeError, locateFfmpeg, probeFfmpeg, requireLibopus } from '../../src/audio/ffmpeg.js';
import { DEVICES_5_1, ENCODERS_5_1, VERSION_5_1 } from './ffmpeg-samples.js';
import { testFfmpeg } from '../helpers/audio.js';

test('parseFfmpegVersion', () => {
  const cases: Array<[string, string | null]> = [
    [VERSION_5_1, '5.1.9-0+deb12u1'],
    ['ffmpeg version 7.1 Copyright (c) 2000-2024 the FFmpeg developers\n', '7.1'],
    ['ffmpeg version N-118000-g1234abcd-static https://johnvansickle.com/ffmpeg/  Copyright (c) 2000-2025\n', 'N-118000-g1234abcd-static'],
    ['ffmpeg version 6.0-essentials_build-www.gyan.dev Copyright (c) 2000-2023\r\nbuilt with gcc\r\n', '6.0-essentials_build-www.gyan.dev'],
    ['avconv version 12\n', null],
    ['', null],
  ];
  for (const [output, expected] of cases) assert.equal(parseFfmpegVersion(output), expected, JSON.stringify(output.slice(0, 40)));
});

test('parseEncoders on real 5.1 output: audio encoders only, legend skipped', () => {
  const audio = parseEncoders(ENCODERS_5_1);
  assert.ok(audio.includes('libopus'));
  assert.ok(audio.includes('opus'), 'the native (experimental) opus encoder is listed too');
  assert.ok(audio.includes('pcm_s16le'));
  assert.ok(!audio.includes('libx264'), 'video encoders are not audio');
  assert.ok(!audio.includes('='), 'legend lines are not encoders');
  assert.ok(parseEncoders(ENCODERS_5_1, 'video').includes('libx264'));
  assert.ok(parseEncoders(ENCODERS_5_1, 'subtitle').includes('ass'));
  assert.equal(hasEncoder(ENCODERS_5_1, 'libopus'), true);
  assert.equal(hasEncoder(ENCODERS_5_1, 'libfdk_aac'), false);
  // A build without libopus (only the native encoder) is not "has libopus".
  const withoutLibopus = ENCODERS_5_1.split('\n').filter((line) => !/ libopus /.test(line)).join('\n');
  assert.equal(hasEncoder(withoutLibopus, 'libopus'), false);
  assert.equal(hasEncoder(withoutLibopus, 'opus'), true);
  // Nothing before the legend's end counts, even if it looks like an encoder line.
  assert.deepEqual(parseEncoders(' A..... libopus  x\n'), []);
});

test('parseDevices on real 5.1 output: demuxers are inputs, muxers outputs, aliases split', () => {
  const { inputDevices, outputDevices } = parseDevices(DEVICES_5_1);
  assert.deepEqual(inputDevices, ['alsa', 'fbdev', 'iec61883', 'jack', 'kmsgrab', 'lavfi', 'libcdio', 'libdc1394', 'openal', 'oss', 'pulse', 'video4linux2', 'v4l2', 'x11grab']);
  assert.deepEqual(outputDevices, ['alsa', 'caca', 'fbdev', 'opengl', 'oss', 'pulse', 'sdl', 'sdl2', 'video4linux2', 'v4l2', 'xv']);
  assert.deepEqual(parseDevices('Devices:\n D. = Demuxing supported\n .E = Muxing supported\n --\n'), { inputDevices: [], outputDevices: [] });
  // macOS-style build.
  const mac = 'Devices:\n D. = Demuxing supported\n .E = Muxing supported\n --\n D  avfoundation    AVFoundation input device\n  E audiotoolbox    AudioToolbox output device\n D  lavfi           Libavfilter virtual input device\n';
  assert.deepEqual(parseDevices(mac), { inputDevices: ['avfoundation', 'lavfi'], outputDevices: ['audiotoolbox'] });
});

test('probeFfmpeg on the real ffmpeg: version, libopus, and its devices', async () => {
  const ffmpeg = await testFfmpeg();
  const info = await probeFfmpeg(ffmpeg);
  assert.match(info.version, /^\S+$/);
  assert.notEqual(info.version, '');
  assert.equal(info.hasLibopus, true, 'the test machine needs an ffmpeg with libopus');
  assert.ok(info.inputDevices.includes('lavfi'), `inputs: ${info.inputDevices.join(' ')}`);
  if (process.platform === 'linux') {
    assert.ok(info.inputDevices.includes('pulse') || info.inputDevices.includes('alsa'), `inputs: ${info.inputDevices.join(' ')}`);
    assert.ok(info.outputDevices.includes('pulse') || info.outputDevices.includes('alsa'), `outputs: ${info.outputDevices.join(' ')}`);
  }
  assert.doesNotThrow(() => requireLibopus(info, ffmpeg));
  const located = await locateFfmpeg({ explicitPath: ffmpeg });
  assert.equal(located.path, ffmpeg);
  assert.equal(located.source, 'option');
  assert.equal(located.hasLibopus, true);
});

test('probe failures: missing binary, not ffmpeg, non-zero exit, no libopus', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'hc-probe-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const script = async (name: string, body: string): Promise<string> => {
    const file = path.join(dir, name);
    await writeFile(file, `#!/bin/sh\n${body}\n`);
    await chmod(file, 0o755);
    return file;
  };

  await assert.rejects(probeFfmpeg(path.join(dir, 'absent')), (error: unknown) => error instanceof FfmpegProbeError && /ENOENT/.test(error.message));
  const notFfmpeg = await script('not-ffmpeg', 'echo hello');
  await assert.rejects(probeFfmpeg(notFfmpeg), (error: unknown) => error instanceof FfmpegProbeError && /does not look like ffmpeg/.test(error.message));
  const failing = await script('failing', 'echo "broken build" >&2; exit 3');
  await assert.rejects(probeFfmpeg(failing), (error: unknown) => error instanceof FfmpegProbeError && /exited with 3: broken build/.test(error.message));

  const noOpus = await script('ffmpeg', [
    'case "$2" in',
    '  -version) echo "ffmpeg version 9.9-fake Copyright (c) the FFmpeg developers" ;;',
    '  -encoders) printf "Encoders:\\n A..... = Audio\\n ------\\n A..... aac   AAC (Advanced Audio Coding)\\n A..X.. opus  Opus\\n" ;;',
    '  -devices) printf "Devices:\\n D. = Demuxing supported\\n .E = Muxing supported\\n --\\n DE alsa  ALSA audio output\\n" ;;',
    'esac',
  ].join('\n'));
  const info = await probeFfmpeg(noOpus);
  assert.deepEqual(info, { version: '9.9-fake', hasLibopus: false, inputDevices: ['alsa'], outputDevices: ['alsa'] });
  assert.throws(
    () => requireLibopus(info, noOpus, 'linux'),
    (error: unknown) => error instanceof FfmpegNoLibopusError && error.message.includes('has no libopus encoder') && error.message.includes('apt-get install ffmpeg') && !error.message.includes('\n'),
  );
  await assert.rejects(locateFfmpeg({ explicitPath: noOpus, platform: 'darwin' }), (error: unknown) => error instanceof FfmpegNoLibopusError && /brew install ffmpeg/.test(error.message));
});
