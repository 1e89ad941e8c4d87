import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { classifyFfmpegFailure, describeFfmpegFailure, stderrTail, type FfmpegFailureCause, type FfmpegJob } from '../../src/audio/failure.js';
import { listenArgs, talkArgs, QUIET_ARGS } from '../../src/audio/args.js';
import { probeFfmpeg } from '../../src/audio/ffmpeg.js';
import { runFfmpeg, testFfmpeg } from '../helpers/audio.js';

const ALSA_CHATTER = [
  "ALSA lib confmisc.c:855:(parse_card) cannot find card '0'",
  'ALSA lib conf.c:5180:(_snd_config_evaluate) function snd_func_card_inum returned error: No such file or directory',
  'ALSA lib pcm.c:2666:(snd_pcm_open_noupdate) Unknown PCM default',
].join('\n');

/** stderr captured from ffmpeg 5.1.9 (`-loglevel error`) in a container without sound hardware or server. */
const SAMPLES: Array<[string, string, FfmpegJob | undefined, FfmpegFailureCause]> = [
  ['alsa capture, no card', `${ALSA_CHATTER}\n[alsa @ 0x564c489e49c0] cannot open audio device default (No such file or directory)\ndefault: Input/output error\n`, 'talk', 'no-input-device'],
  ['alsa capture, no card (no job)', `${ALSA_CHATTER}\n[alsa @ 0x564c489e49c0] cannot open audio device default (No such file or directory)\ndefault: Input/output error\n`, undefined, 'no-input-device'],
  ['alsa capture, bad card', "ALSA lib confmisc.c:165:(snd_config_get_card) Cannot get card index for 5\n[alsa @ 0x55f78ba8b900] cannot open audio device hw:5 (No such file or directory)\nhw:5: Input/output error\n", 'talk', 'no-input-device'],
  ['pulse capture, no server', 'default: No such process\n', 'talk', 'no-input-device'],
  ['pulse capture, no server (no job)', 'default: No such process\n', undefined, 'no-input-device'],
  ['alsa playback, no card', `${ALSA_CHATTER}\n[alsa @ 0x56494c934400] cannot open audio device default (No such file or directory)\nCould not write header for output file #0 (incorrect codec parameters ?): Input/output error\nError initializing output stream 0:0 -- \n`, 'listen', 'no-output-device'],
  ['alsa playback, no card (no job)', `${ALSA_CHATTER}\n[alsa @ 0x56494c934400] cannot open audio device default (No such file or directory)\nCould not write header for output file #0 (incorrect codec parameters ?): Input/output error\n`, undefined, 'no-output-device'],
  ['pulse playback, no server', '[PulseAudio outdev @ 0x563a99b44cc0] Cannot connect context: Access denied.\nCould not write header for output file #0 (incorrect codec parameters ?): Generic error in an external library\nError initializing output stream 0:0 -- \n', 'listen', 'no-output-device'],
  ['pulse playback, no server (no job)', '[PulseAudio outdev @ 0x563a99b44cc0] Cannot connect context: Access denied.\nCould not write header for output file #0 (incorrect codec parameters ?): Generic error in an external library\n', undefined, 'no-output-device'],
  ['pulse capture, unknown source (server up)', 'nosuch: Input/output error\n', 'talk', 'no-input-device'],
  ['pulse playback, unknown sink (server up)', '[PulseAudio outdev @ 0x564f55d1dcc0] Stream failed.\nCould not write header for output file #0 (incorrect codec parameters ?): Generic error in an external library\nError initializing output stream 0:0 -- \n', 'listen', 'no-output-device'],
  ['pulse playback, unknown sink (no job)', '[PulseAudio outdev @ 0x564f55d1dcc0] Stream failed.\nCould not write header for output file #0 (incorrect codec parameters ?): Generic error in an external library\n', undefined, 'no-output-device'],
  ['missing --input file', '/nonexistent.wav: No such file or directory\n', 'talk', 'bad-input-file'],
  ['--input not media', 'bad.wav: Invalid data found when processing input\n', 'talk', 'bad-input-file'],
  ['--input not media (no job)', 'bad.wav: Invalid data found when processing input\n', undefined, 'bad-input-file'],
  ['talk: empty PCM on stdin', 'pipe:: End of file\n', 'talk', 'bad-input-file'],
  ['listen: not Ogg', 'pipe:: End of file\n', 'listen', 'not-ogg'],
  ['listen: not Ogg (no job)', 'pipe:: End of file\n', undefined, 'not-ogg'],
  ['listen: invalid data', 'pipe:: Invalid data found when processing input\n', 'listen', 'not-ogg'],
  ['listen: WAV dir missing', '/nonexistent/x.wav: No such file or directory\n', 'listen', 'bad-output-file'],
  ['listen: WAV exists (-n)', "File 'ex.wav' already exists. Exiting.\n", 'listen', 'output-exists'],
  ['no libopus', "Unknown encoder 'libopus'\n", 'talk', 'no-libopus'],
  ['macOS backend on Linux', "Unknown input format: 'avfoundation'\n", 'talk', 'backend-unavailable'],
  ['ffmpeg 7 input open', '[in#0 @ 0x5599] Error opening input: No such file or directory\nError opening input file missing.wav.\nError opening input files: No such file or directory\n', 'talk', 'bad-input-file'],
  ['ffmpeg 7 output open (no job)', '[out#0/wav @ 0x55] Error opening output /x/y.wav: No such file or directory\nError opening output file /x/y.wav.\nError opening output files: No such file or directory\n', undefined, 'bad-output-file'],
  ['ffplay, no audio device (SDL; it exits 0)', "ALSA lib pcm.c:2666:(snd_pcm_open_noupdate) Unknown PCM default\nNo more combinations to try, audio open failed\nFailed to open file 'pipe:' or configure filtergraph\n", 'listen', 'no-output-device'],
  ['unrelated', 'Conversion failed!\n', 'talk', 'unknown'],
  ['empty', '', undefined, 'unknown'],
];

test('classifyFfmpegFailure on captured stderr', () => {
  for (const [name, stderr, job, cause] of SAMPLES) {
    const failure = classifyFfmpegFailure(stderr, job);
    assert.equal(failure.cause, cause, name);
    if (cause !== 'unknown') assert.ok(failure.line !== undefined && stderr.includes(failure.line.trim()), `${name}: line ${failure.line}`);
  }
});

test('describeFfmpegFailure: one line naming the cause and quoting ffmpeg', () => {
  const stderr = SAMPLES[0]?.[1] ?? '';
  const line = describeFfmpegFailure(classifyFfmpegFailure(stderr, 'talk'), stderr);
  assert.equal(line, 'no microphone (cannot open the capture device): cannot open audio device default (No such file or directory)');
  assert.equal(describeFfmpegFailure({ cause: 'unknown' }, 'a\nConversion failed!\n'), 'ffmpeg failed: Conversion failed!');
  assert.equal(describeFfmpegFailure({ cause: 'unknown' }), 'ffmpeg failed');
  assert.equal(describeFfmpegFailure({ cause: 'unknown' }, 'Failed to open file\n', 'ffplay'), 'ffplay failed: Failed to open file');
  for (const [, stderr, job] of SAMPLES) assert.ok(!describeFfmpegFailure(classifyFfmpegFailure(stderr, job), stderr).includes('\n'));
});

test('stderrTail: the last N non-empty lines', () => {
  assert.deepEqual(stderrTail('a\n\nb\r\nc  \n\n'), ['a', 'b', 'c']);
  assert.deepEqual(stderrTail('1\n2\n3\n4\n5\n6\n7\n'), ['3', '4', '5', '6', '7']);
  assert.deepEqual(stderrTail('1\n2\n3\n', 2), ['2', '3']);
  assert.deepEqual(stderrTail('1\n2\n', 0), []);
  assert.deepEqual(stderrTail(''), []);
});

test('real ffmpeg failures are classified (devices that exist nowhere, missing files, garbage streams)', async (t) => {
  const ffmpeg = await testFfmpeg();
  const info = await probeFfmpeg(ffmpeg);
  const dir = await mkdtemp(path.join(tmpdir(), 'hc-fail-'));
  t.after(() => rm(dir, { recursive: true, force: true }));

  const missing = await runFfmpeg(talkArgs({ kind: 'file', path: path.join(dir, 'missing.wav'), realtime: false }));
  assert.equal(missing.exitCode, 1);
  assert.equal(classifyFfmpegFailure(missing.stderr, 'talk').cause, 'bad-input-file', missing.stderr);

  const notMedia = path.join(dir, 'not-media.wav');
  await writeFile(notMedia, 'hello, this is not audio\n');
  const bad = await runFfmpeg(talkArgs({ kind: 'file', path: notMedia, realtime: false }));
  assert.equal(bad.exitCode, 1);
  assert.equal(classifyFfmpegFailure(bad.stderr, 'talk').cause, 'bad-input-file', bad.stderr);

  const garbage = await runFfmpeg(listenArgs({ kind: 'pcm' }), randomBytes(8192));
  assert.notEqual(garbage.exitCode, 0);
  assert.equal(classifyFfmpegFailure(garbage.stderr, 'listen').cause, 'not-ogg', garbage.stderr);
  const html = await runFfmpeg(listenArgs({ kind: 'pcm' }), Buffer.from('<html><body>502 Bad Gateway</body></html>\n'));
  assert.equal(classifyFfmpegFailure(html.stderr, 'listen').cause, 'not-ogg', html.stderr);

  const existing = path.join(dir, 'exists.wav');
  await writeFile(existing, '');
  const tone = await runFfmpeg(talkArgs({ kind: 'tone', frequency: 440, durationSeconds: 0.2, realtime: false }));
  const exists = await runFfmpeg(listenArgs({ kind: 'wav', path: existing }), tone.stdout);
  assert.equal(exists.exitCode, 1);
  assert.equal(classifyFfmpegFailure(exists.stderr, 'listen').cause, 'output-exists', exists.stderr);

  if (info.inputDevices.includes('alsa')) {
    // Card 99 exists on no machine.
    const capture = await runFfmpeg(talkArgs({ kind: 'device', backend: 'alsa', device: 'hw:99' }));
    assert.equal(capture.exitCode, 1);
    assert.equal(classifyFfmpegFailure(capture.stderr, 'talk').cause, 'no-input-device', capture.stderr);
    assert.equal(classifyFfmpegFailure(capture.stderr).cause, 'no-input-device', capture.stderr);
  }
  if (info.outputDevices.includes('alsa')) {
    const playback = await runFfmpeg(listenArgs({ kind: 'alsa', device: 'hw:99' }), tone.stdout);
    assert.equal(playback.exitCode, 1);
    assert.equal(classifyFfmpegFailure(playback.stderr, 'listen').cause, 'no-output-device', playback.stderr);
    assert.equal(classifyFfmpegFailure(playback.stderr).cause, 'no-output-device', playback.stderr);
  }
  const avf = await runFfmpeg([...QUIET_ARGS, '-nostdin', '-f', process.platform === 'darwin' ? 'dshow' : 'avfoundation', '-i', ':0', '-f', 'null', '-']);
  assert.equal(classifyFfmpegFailure(avf.stderr, 'talk').cause, 'backend-unavailable', avf.stderr);
});
