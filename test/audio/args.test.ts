import test from 'node:test';
import assert from 'node:assert/strict';
import {
  alsaCaptureArgs,
  alsaPlaybackArgs,
  audiotoolboxPlaybackArgs,
  avfoundationCaptureArgs,
  backendFor,
  captureInputArgs,
  deviceCaptureArgs,
  dshowCaptureArgs,
  fileInputArgs,
  listenArgs,
  meterTapArgs,
  oggStdinInputArgs,
  opusOggOutputArgs,
  pcmStdinInputArgs,
  wavStdinInputArgs,
  playbackOutputArgs,
  pulseCaptureArgs,
  pulsePlaybackArgs,
  QUIET_ARGS,
  talkArgs,
  toneInputArgs,
  toPlatform,
  wavOutputArgs,
  type BackendChoice,
  type BackendContext,
  type CaptureSource,
  type Platform,
  type PlaybackTarget,
} from '../../src/audio/args.js';

const QUIET = ['-hide_banner', '-nostats', '-loglevel', 'error'];
const OGG_IN = ['-fflags', 'nobuffer', '-flags', 'low_delay', '-probesize', '32', '-analyzeduration', '0', '-f', 'ogg', '-i', '-'];
const OPUS_OUT = [
  '-c:a', 'libopus', '-b:a', '32k', '-ac', '1', '-ar', '48000', '-application', 'voip',
  '-frame_duration', '10', '-page_duration', '20000', '-flush_packets', '1', '-f', 'ogg', '-',
];

test('QUIET_ARGS: no banner, no progress, errors only', () => {
  assert.deepEqual([...QUIET_ARGS], QUIET);
});

test('capture input per backend', () => {
  const cases: Array<[string, string[], string[]]> = [
    ['pulse default', pulseCaptureArgs(), ['-f', 'pulse', '-fragment_size', '1920', '-sample_rate', '48000', '-channels', '1', '-i', 'default']],
    ['pulse monitor', pulseCaptureArgs('hc_mic.monitor'), ['-f', 'pulse', '-fragment_size', '1920', '-sample_rate', '48000', '-channels', '1', '-i', 'hc_mic.monitor']],
    ['alsa default', alsaCaptureArgs(), ['-f', 'alsa', '-sample_rate', '48000', '-channels', '1', '-i', 'default']],
    ['alsa hw', alsaCaptureArgs('hw:1,0'), ['-f', 'alsa', '-sample_rate', '48000', '-channels', '1', '-i', 'hw:1,0']],
    ['avfoundation default', avfoundationCaptureArgs(), ['-f', 'avfoundation', '-i', ':0']],
    ['avfoundation index', avfoundationCaptureArgs('2'), ['-f', 'avfoundation', '-i', ':2']],
    ['avfoundation :name', avfoundationCaptureArgs(':MacBook Pro Microphone'), ['-f', 'avfoundation', '-i', ':MacBook Pro Microphone']],
    ['dshow name', dshowCaptureArgs('Microphone (Realtek Audio)'), ['-f', 'dshow', '-audio_buffer_size', '20', '-i', 'audio=Microphone (Realtek Audio)']],
    ['dshow audio=', dshowCaptureArgs('audio=Mic'), ['-f', 'dshow', '-audio_buffer_size', '20', '-i', 'audio=Mic']],
    ['device() pulse', deviceCaptureArgs('pulse'), pulseCaptureArgs()],
    ['device() alsa', deviceCaptureArgs('alsa', 'plughw:0'), alsaCaptureArgs('plughw:0')],
    ['device() avfoundation', deviceCaptureArgs('avfoundation'), avfoundationCaptureArgs()],
    ['device() dshow', deviceCaptureArgs('dshow', 'Mic'), dshowCaptureArgs('Mic')],
  ];
  for (const [name, actual, expected] of cases) assert.deepEqual(actual, expected, name);
});

test('dshow without a device name is a clear error', () => {
  assert.throws(() => dshowCaptureArgs(''), /dshow capture needs a device name.*-list_devices true -f dshow/);
  assert.throws(() => deviceCaptureArgs('dshow'), RangeError);
});

test('file, PCM stdin and tone inputs', () => {
  const cases: Array<[string, string[], string[]]> = [
    ['file realtime', fileInputArgs('talk.ogg'), ['-re', '-i', 'talk.ogg']],
    ['file fast', fileInputArgs('/x/y.wav', false), ['-i', '/x/y.wav']],
    ['file named like an option', fileInputArgs('-weird.wav'), ['-re', '-i', 'file:-weird.wav']],
    ['pcm s16le', pcmStdinInputArgs('s16le', 48000, 1), ['-probesize', '32', '-analyzeduration', '0', '-f', 's16le', '-ar', '48000', '-ac', '1', '-i', '-']],
    ['pcm f32le stereo', pcmStdinInputArgs('f32le', 44100, 2), ['-probesize', '32', '-analyzeduration', '0', '-f', 'f32le', '-ar', '44100', '-ac', '2', '-i', '-']],
    ['wav on stdin', wavStdinInputArgs(1920), ['-probesize', '32', '-analyzeduration', '0', '-f', 'wav', '-max_size', '1920', '-i', '-']],
    ['tone endless', toneInputArgs(440), ['-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000']],
    ['tone 2 s fast', toneInputArgs(1000, { durationSeconds: 2, realtime: false }), ['-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000:duration=2']],
  ];
  for (const [name, actual, expected] of cases) assert.deepEqual(actual, expected, name);
  assert.throws(() => pcmStdinInputArgs('s16le', 0, 1), RangeError);
  assert.throws(() => wavStdinInputArgs(1000), RangeError, 'ffmpeg refuses -max_size under 1024');
  assert.throws(() => pcmStdinInputArgs('s16le', 48000, 1.5), RangeError);
  assert.throws(() => toneInputArgs(-1), RangeError);
  assert.throws(() => toneInputArgs(440, { durationSeconds: 0 }), RangeError);
});

test('captureInputArgs dispatches on the source kind', () => {
  const cases: Array<[CaptureSource, string[]]> = [
    [{ kind: 'device', backend: 'pulse' }, pulseCaptureArgs()],
    [{ kind: 'device', backend: 'alsa', device: 'hw:2' }, alsaCaptureArgs('hw:2')],
    [{ kind: 'file', path: 'a.wav' }, ['-re', '-i', 'a.wav']],
    [{ kind: 'file', path: 'a.wav', realtime: false }, ['-i', 'a.wav']],
    [{ kind: 'pcm', format: 's24le', sampleRate: 96000, channels: 2 }, pcmStdinInputArgs('s24le', 96000, 2)],
    [{ kind: 'wav-stdin', packetBytes: 1024 }, wavStdinInputArgs(1024)],
    [{ kind: 'tone', frequency: 440 }, toneInputArgs(440)],
    [{ kind: 'tone', frequency: 440, durationSeconds: 1.5, realtime: false }, ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=1.5']],
  ];
  for (const [source, expected] of cases) assert.deepEqual(captureInputArgs(source), expected, JSON.stringify(source));
});

test('Opus in Ogg output: voip 10 ms frames in 20 ms pages; low-latency 10 ms pages, lowdelay', () => {
  assert.deepEqual(opusOggOutputArgs(), OPUS_OUT);
  assert.deepEqual(opusOggOutputArgs({ bitrateKbps: 24 }), OPUS_OUT.map((arg) => (arg === '32k' ? '24k' : arg)));
  const low = opusOggOutputArgs({ lowLatency: true });
  assert.deepEqual(low, [
    '-c:a', 'libopus', '-b:a', '32k', '-ac', '1', '-ar', '48000', '-application', 'lowdelay',
    '-frame_duration', '10', '-page_duration', '10000', '-flush_packets', '1', '-f', 'ogg', '-',
  ]);
  const lowVoip = opusOggOutputArgs({ lowLatency: true, application: 'voip' });
  assert.equal(lowVoip[lowVoip.indexOf('-application') + 1], 'voip');
  for (const bad of [0, 5, 511, 32.5, Number.NaN]) {
    assert.throws(() => opusOggOutputArgs({ bitrateKbps: bad }), /Opus bitrate must be a whole number of kbit\/s from 6 to 510/, String(bad));
  }
  assert.doesNotThrow(() => opusOggOutputArgs({ bitrateKbps: 6 }));
  assert.doesNotThrow(() => opusOggOutputArgs({ bitrateKbps: 510 }));
});

test('talkArgs: quiet, -nostdin unless stdin is the input, input then encoder', () => {
  assert.deepEqual(talkArgs({ kind: 'device', backend: 'pulse' }), [...QUIET, '-nostdin', ...pulseCaptureArgs(), ...OPUS_OUT]);
  assert.deepEqual(talkArgs({ kind: 'tone', frequency: 440, realtime: false }, { lowLatency: true }), [
    ...QUIET, '-nostdin', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', ...opusOggOutputArgs({ lowLatency: true }),
  ]);
  const pcm = talkArgs({ kind: 'pcm', format: 's16le', sampleRate: 48000, channels: 1 });
  assert.ok(!pcm.includes('-nostdin'));
  assert.deepEqual(pcm, [...QUIET, ...pcmStdinInputArgs('s16le', 48000, 1), ...OPUS_OUT]);
  // The global/input options must come before the -i they belong to, and the output last.
  const args = talkArgs({ kind: 'file', path: 'x.wav' });
  assert.ok(args.indexOf('-re') < args.indexOf('-i'));
  assert.equal(args.at(-1), '-');
  assert.equal(args[args.lastIndexOf('-f') + 1], 'ogg');
});

test('meter tap: a second, low-rate PCM output on an extra fd, after the Ogg output', () => {
  assert.deepEqual(meterTapArgs({ fd: 3 }), ['-ac', '1', '-ar', '8000', '-flush_packets', '1', '-f', 's16le', 'pipe:3']);
  assert.deepEqual(meterTapArgs({ fd: 4, sampleRate: 16000 }), ['-ac', '1', '-ar', '16000', '-flush_packets', '1', '-f', 's16le', 'pipe:4']);
  for (const fd of [0, 1, 2, 3.5]) assert.throws(() => meterTapArgs({ fd }), RangeError, String(fd));
  assert.throws(() => meterTapArgs({ fd: 3, sampleRate: 0 }), RangeError);
  const source: CaptureSource = { kind: 'device', backend: 'alsa' };
  assert.deepEqual(talkArgs(source, {}, { fd: 3 }), [...talkArgs(source), ...meterTapArgs({ fd: 3 })]);
});

test('listen decoder input and outputs', () => {
  assert.deepEqual(oggStdinInputArgs(), OGG_IN);
  const cases: Array<[string, string[], string[]]> = [
    ['pulse default sink', pulsePlaybackArgs(), ['-f', 'pulse', '-buffer_duration', '20', 'hoodycall']],
    ['pulse sink', pulsePlaybackArgs('hc_spk'), ['-f', 'pulse', '-buffer_duration', '20', '-device', 'hc_spk', 'hoodycall']],
    ['pulse stream name', pulsePlaybackArgs('hc_spk', 'call with bob'), ['-f', 'pulse', '-buffer_duration', '20', '-device', 'hc_spk', 'call with bob']],
    ['alsa default', alsaPlaybackArgs(), ['-f', 'alsa', 'default']],
    ['alsa hw', alsaPlaybackArgs('hw:0,0'), ['-f', 'alsa', 'hw:0,0']],
    ['audiotoolbox default', audiotoolboxPlaybackArgs(), ['-f', 'audiotoolbox', '-']],
    ['audiotoolbox index', audiotoolboxPlaybackArgs(1), ['-f', 'audiotoolbox', '-audio_device_index', '1', '-']],
    ['wav file', wavOutputArgs('out.wav'), ['-c:a', 'pcm_s16le', '-ar', '48000', '-ac', '1', '-f', 'wav', 'out.wav']],
    ['wav stdout', wavOutputArgs('-'), ['-c:a', 'pcm_s16le', '-ar', '48000', '-ac', '1', '-flush_packets', '1', '-f', 'wav', '-']],
    ['wav file named like an option', wavOutputArgs('-x.wav'), ['-c:a', 'pcm_s16le', '-ar', '48000', '-ac', '1', '-f', 'wav', 'file:-x.wav']],
  ];
  for (const [name, actual, expected] of cases) assert.deepEqual(actual, expected, name);
  assert.throws(() => audiotoolboxPlaybackArgs(-1), RangeError);
});

test('listenArgs: quiet, Ogg on stdin (no -nostdin), -n/-y only for a WAV file', () => {
  const cases: Array<[PlaybackTarget, string[]]> = [
    [{ kind: 'pulse', device: 'hc_spk' }, [...QUIET, ...OGG_IN, ...pulsePlaybackArgs('hc_spk')]],
    [{ kind: 'pulse', streamName: 'x' }, [...QUIET, ...OGG_IN, '-f', 'pulse', '-buffer_duration', '20', 'x']],
    [{ kind: 'alsa' }, [...QUIET, ...OGG_IN, '-f', 'alsa', 'default']],
    [{ kind: 'audiotoolbox' }, [...QUIET, ...OGG_IN, '-f', 'audiotoolbox', '-']],
    [{ kind: 'wav', path: '-' }, [...QUIET, ...OGG_IN, ...wavOutputArgs('-')]],
    [{ kind: 'wav', path: 'a.wav' }, [...QUIET, '-n', ...OGG_IN, ...wavOutputArgs('a.wav')]],
    [{ kind: 'wav', path: 'a.wav', overwrite: true }, [...QUIET, '-y', ...OGG_IN, ...wavOutputArgs('a.wav')]],
    [{ kind: 'pcm' }, [...QUIET, ...OGG_IN, '-flush_packets', '1', '-f', 's16le', '-ar', '48000', '-ac', '1', '-']],
  ];
  for (const [target, expected] of cases) {
    assert.deepEqual(listenArgs(target), expected, JSON.stringify(target));
    assert.ok(!listenArgs(target).includes('-nostdin'));
    assert.deepEqual(playbackOutputArgs(target), expected.slice(expected.indexOf('-i') + 2));
  }
});

test('backendFor: pulse when a server answers (and the build has it), else ALSA, else no output device (an external player); per-OS otherwise', () => {
  const both = ['alsa', 'pulse', 'lavfi'];
  const cases: Array<[Platform, BackendContext, BackendChoice]> = [
    ['linux', { pulseAvailable: true }, { capture: 'pulse', playback: 'pulse' }],
    ['linux', { pulseAvailable: false }, { capture: 'alsa', playback: 'alsa' }],
    ['linux', { pulseAvailable: true, inputDevices: both, outputDevices: both }, { capture: 'pulse', playback: 'pulse' }],
    ['linux', { pulseAvailable: true, inputDevices: ['alsa'], outputDevices: ['alsa'] }, { capture: 'alsa', playback: 'alsa' }],
    ['linux', { pulseAvailable: true, inputDevices: both, outputDevices: ['alsa'] }, { capture: 'pulse', playback: 'alsa' }],
    ['linux', { pulseAvailable: true, inputDevices: both, outputDevices: [] }, { capture: 'pulse', playback: null }],
    ['linux', { pulseAvailable: false, inputDevices: ['alsa'], outputDevices: ['sdl,sdl2'] }, { capture: 'alsa', playback: null }],
    ['darwin', { pulseAvailable: true }, { capture: 'avfoundation', playback: 'audiotoolbox' }],
    ['darwin', { pulseAvailable: false }, { capture: 'avfoundation', playback: 'audiotoolbox' }],
    ['darwin', { pulseAvailable: false, outputDevices: [] }, { capture: 'avfoundation', playback: null }],
    ['win32', { pulseAvailable: false }, { capture: 'dshow', playback: null }],
  ];
  for (const [platform, context, expected] of cases) assert.deepEqual(backendFor(platform, context), expected, `${platform} ${JSON.stringify(context)}`);
});

test('toPlatform', () => {
  assert.equal(toPlatform('linux'), 'linux');
  assert.equal(toPlatform('darwin'), 'darwin');
  assert.equal(toPlatform('win32'), 'win32');
  assert.equal(toPlatform('freebsd'), null);
});
