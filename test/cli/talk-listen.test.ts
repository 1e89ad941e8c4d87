import test from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { parseWavHeader } from '../../src/audio/wav.js';
import { buildWav, floatToS16le, testFfmpeg } from '../helpers/audio.js';
import { tempDir } from '../helpers/calls.js';
import { BIN, isRunning, runCli, startServe, type CliProcess } from '../helpers/cli.js';
import { dominantFrequency, s16leToFloat, sine } from '../helpers/goertzel.js';
import { curl } from '../helpers/http.js';
import { sleep, uniqueName, waitFor } from '../helpers/relay.js';

/** Decoded WAV → its dominant frequency among a few candidates, and its length in seconds. */
function analyse(wav: Buffer): { frequency: number; seconds: number } {
  const header = parseWavHeader(wav);
  assert.ok(header !== null, 'the output is a WAV');
  assert.equal(header.sampleRate, 48_000);
  const pcm = wav.subarray(header.dataOffset);
  const samples = s16leToFloat(pcm, header.channels);
  return { frequency: dominantFrequency(samples, header.sampleRate, [300, 440, 1000, 1500]).frequency, seconds: samples.length / header.sampleRate };
}

async function ended(cli: CliProcess): Promise<number | null> {
  return (await cli.exited).code;
}

function noFfmpegChildren(pid: number | undefined): Promise<boolean> {
  return execa('pgrep', ['-P', String(pid), 'ffmpeg'], { reject: false }).then((result) => result.exitCode === 1);
}

test('talk --tone 440 through serve into listen --output: 440 Hz for as long as the call lasted; ctrl-C ends both cleanly', async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const dir = await tempDir(t);
  const name = uniqueName();
  const out = path.join(dir, 'out.wav');
  const listener = runCli(t, ['listen', name, '--server', relay.url.origin, '--output', out]);
  await sleep(300);
  const talker = runCli(t, ['talk', name, '--server', relay.url.origin, '--tone', '440']);
  // Timed from the call's start, not from the spawn: a loaded machine starts processes slowly.
  await waitFor(() => /on air/.test(talker.stderr()), 'the talker on air', 10_000);
  await sleep(2_000);
  talker.child.kill('SIGINT');
  assert.equal(await ended(talker), 0, talker.stderr());
  assert.ok(await noFfmpegChildren(talker.child.pid), 'ffmpeg outlived talk');
  assert.match(talker.stderr(), /call ended after 0:0\d, \d+ KiB sent/);
  assert.equal(await ended(listener), 0, listener.stderr());
  assert.match(listener.stderr(), /the talker hung up/);
  const { frequency, seconds } = analyse(await readFile(out));
  assert.equal(frequency, 440);
  assert.ok(seconds > 1.5 && seconds < 3, `${seconds} s of audio`);
});

test('talk --input FILE sends the file in real time and ends the call when it ends', async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const dir = await tempDir(t);
  const name = uniqueName();
  const input = path.join(dir, 'tone.wav');
  const out = path.join(dir, 'out.wav');
  await execa(await testFfmpeg(), ['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=1000:duration=2', '-ar', '44100', input]);
  const listener = runCli(t, ['listen', name, '--server', relay.url.origin, '--output', out]);
  const talker = runCli(t, ['talk', name, '--server', relay.url.origin, '--input', input]);
  const talkerExit = await talker.exited;
  assert.equal(talkerExit.code, 0, talker.stderr());
  assert.ok(talkerExit.afterMs > 1_900, `a 2 s file took ${talkerExit.afterMs} ms: it must be sent in real time`);
  assert.equal(await ended(listener), 0, listener.stderr());
  const { frequency, seconds } = analyse(await readFile(out));
  assert.equal(frequency, 1000);
  assert.ok(Math.abs(seconds - 2) < 0.2, `${seconds} s of audio`);
});

test('a late listener hears what is said after it joined, not the backlog (talk --input - stays live)', async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const dir = await tempDir(t);
  const name = uniqueName();
  const out = path.join(dir, 'out.wav');
  const talker = execa(process.execPath, [BIN, 'talk', name, '--server', relay.url.origin, '--input', '-'], {
    stdin: 'pipe',
    reject: false,
  });
  t.after(() => talker.kill('SIGKILL'));
  // 300 Hz written in real time: the listener is started after two seconds of it, and the talk goes
  // on for two seconds after the listener is connected (however long its start took).
  talker.stdin.write(buildWav(Buffer.alloc(0), { dataSizeField: 0xffffffff, riffSizeField: 0xffffffff }));
  const tenth = floatToS16le(sine(300, 48_000, 0.1));
  let listener: CliProcess | undefined;
  let connectedAt: number | undefined;
  let written = 0;
  for (let i = 0; connectedAt === undefined || written < connectedAt + 20; i += 1) {
    talker.stdin.write(tenth);
    written += 1;
    if (i === 20) listener = runCli(t, ['listen', name, '--server', relay.url.origin, '--output', out]);
    if (connectedAt === undefined && listener !== undefined && /connected to/.test(listener.stderr())) connectedAt = written;
    assert.ok(i < 150, 'the listener never connected');
    await sleep(100);
  }
  talker.stdin.end();
  assert.equal((await talker).exitCode, 0);
  assert.ok(listener !== undefined && connectedAt !== undefined);
  assert.equal(await ended(listener), 0, listener.stderr());
  const { frequency, seconds } = analyse(await readFile(out));
  assert.equal(frequency, 300);
  const afterJoin = (written - connectedAt) / 10;
  assert.ok(seconds < afterJoin + 0.6, `the late listener got ${seconds} s for ${afterJoin} s said after it joined: the backlog before it was sent`);
  assert.ok(seconds > afterJoin - 0.6, `the late listener got only ${seconds} s of ${afterJoin} s`);
});

test('interop: ffmpeg | curl -T - into listen, and talk into curl | ffmpeg', async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const dir = await tempDir(t);
  const ffmpeg = await testFfmpeg();

  const name = uniqueName();
  const out = path.join(dir, 'from-curl.wav');
  const listener = runCli(t, ['listen', name, '--server', relay.url.origin, '--output', out]);
  const seed = execa('bash', ['-c', `${ffmpeg} -v error -re -f lavfi -i sine=frequency=1000:duration=1.5 -c:a libopus -b:a 32k -page_duration 20000 -f ogg - | curl -sS -T - ${relay.pipeUrl(name)}`], { reject: false });
  assert.equal((await seed).exitCode, 0);
  assert.equal(await ended(listener), 0, listener.stderr());
  assert.equal(analyse(await readFile(out)).frequency, 1000);

  const other = uniqueName();
  const wav = path.join(dir, 'from-talk.wav');
  const receiver = execa('bash', ['-c', `curl -sSN ${relay.pipeUrl(other)} | ${ffmpeg} -v error -i - -y ${wav}`], { reject: false });
  const talker = runCli(t, ['talk', other, '--server', relay.url.origin, '--tone', '440']);
  await sleep(2_000);
  talker.child.kill('SIGINT');
  assert.equal(await ended(talker), 0);
  assert.equal((await receiver).exitCode, 0);
  assert.equal(analyse(await readFile(wav)).frequency, 440);
});

test('listen plays WebM talkers (MediaRecorder\'s container) through its one decoder: a reconnect keeps what was heard before it', async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const dir = await tempDir(t);
  const ffmpeg = await testFfmpeg();
  const name = uniqueName();
  const out = path.join(dir, 'webm.wav');
  const listener = runCli(t, ['listen', name, '--server', relay.url.origin, '--reconnect', '--output', out]);
  const webm = (hz: number, seconds: number): string =>
    `${ffmpeg} -v error -re -f lavfi -i sine=frequency=${hz}:duration=${seconds} -ac 1 -c:a libopus -b:a 32k -f webm -live 1 -cluster_time_limit 20 - | curl -sS -T - -H 'Content-Type: audio/webm' ${relay.pipeUrl(name)}`;
  // The first talker's connection is cut mid-stream; the second one ends the call cleanly.
  const first = execa('bash', ['-c', webm(1000, 10)], { reject: false, detached: true });
  // The whole pipeline (bash, ffmpeg, curl) is its own process group.
  const cutFirst = (): void => {
    try {
      if (first.pid !== undefined) process.kill(-first.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  t.after(cutFirst);
  await waitFor(() => /listening/.test(listener.stderr()), 'the listener connected', 10_000);
  await sleep(1_500);
  cutFirst();
  await first;
  await waitFor(() => /reconnecting to/.test(listener.stderr()), 'the listener redialing', 10_000);
  const second = execa('bash', ['-c', webm(440, 1.5)], { reject: false });
  assert.equal((await second).exitCode, 0);
  assert.equal(await ended(listener), 0, listener.stderr());
  const samples = s16leToFloat((await readFile(out)).subarray(parseWavHeader(await readFile(out))?.dataOffset ?? 44));
  const seconds = samples.length / 48_000;
  assert.ok(seconds > 2.3 && seconds < 4.5, `${seconds} s in the file: both talkers' audio, once each`);
  assert.equal(dominantFrequency(samples.subarray(0, 48_000), 48_000, [440, 1000]).frequency, 1000, 'the first talker, kept');
  assert.equal(dominantFrequency(samples.subarray(samples.length - 48_000), 48_000, [440, 1000]).frequency, 440, 'the second talker');
});

test('talk with no name makes an unguessable one and prints what the other side runs', async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0', '--hold', '1']);
  const talker = runCli(t, ['talk', '--server', relay.url.origin, '--tone', '440']);
  assert.equal(await ended(talker), 7, talker.stderr());
  const name = /hoodycall listen (\S+)/.exec(talker.stdout())?.[1] ?? '';
  assert.match(name, /^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$/);
  assert.match(talker.stdout(), new RegExp(`curl -sN ${relay.pipeUrl(name).replace(/[.?]/g, '\\$&')} \\| mpv --no-video -`));
  assert.match(talker.stderr(), /^hoodycall: nobody joined/m);
});

/** The pid of `parent`'s ffmpeg child, once it has one (within 5 s). */
async function ffmpegChildOf(parent: number | undefined): Promise<number> {
  for (let tries = 0; tries < 50; tries += 1) {
    const found = await execa('pgrep', ['-P', String(parent), 'ffmpeg'], { reject: false });
    const pid = Number.parseInt(found.stdout, 10);
    if (Number.isInteger(pid)) return pid;
    await sleep(100);
  }
  assert.fail(`no ffmpeg under ${parent}`);
}

test('while waiting, talk --input - and listen --output - have their ffmpeg started; ctrl-C or a 408 then leaves none', { timeout: 20_000 }, async (t) => {
  // Started early so that their start-up does not become delay (docs/decisions/2026-11-24-latency-ffmpeg-prestarted.md).
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0', '--hold', '2']);
  const talker = execa(process.execPath, [BIN, 'talk', uniqueName(), '--server', relay.url.origin, '--input', '-'], { stdin: 'pipe', reject: false });
  t.after(() => talker.kill('SIGKILL'));
  talker.stdin.write(buildWav(Buffer.alloc(0), { dataSizeField: 0xffffffff, riffSizeField: 0xffffffff }));
  talker.stdin.write(floatToS16le(sine(300, 48_000, 0.5)));
  const listener = runCli(t, ['listen', uniqueName(), '--server', relay.url.origin, '--output', '-']);
  const [talkFfmpeg, listenFfmpeg] = await Promise.all([ffmpegChildOf(talker.pid), ffmpegChildOf(listener.child.pid)]);
  talker.kill('SIGINT');
  const talkEnd = await talker;
  assert.equal(talkEnd.exitCode, 130, talkEnd.stderr);
  assert.match(talkEnd.stderr, /^hoodycall: interrupted before anyone joined$/m);
  assert.equal(await ended(listener), 7, listener.stderr());
  assert.equal(listener.stdout(), '', 'nothing decoded, nothing written');
  await sleep(200);
  assert.equal(isRunning(talkFfmpeg), false, 'talk left its ffmpeg');
  assert.equal(isRunning(listenFfmpeg), false, 'listen left its ffmpeg');
});

test('errors: missing ffmpeg, unreachable server, busy name, nobody came: one line and a distinct code each', async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0', '--hold', '1']);
  const name = uniqueName();

  const noFfmpeg = runCli(t, ['listen', name, '--server', relay.url.origin, '--ffmpeg', '/nonexistent/ffmpeg']);
  assert.equal(await ended(noFfmpeg), 3);
  assert.equal(noFfmpeg.stderr().trim().split('\n').length, 1);
  assert.match(noFfmpeg.stderr(), /ffmpeg/);

  const unreachable = runCli(t, ['talk', name, '--server', 'http://127.0.0.1:1', '--tone', '440']);
  const exit = await unreachable.exited;
  assert.equal(exit.code, 5);
  assert.ok(exit.afterMs < 5_000);
  assert.match(unreachable.stderr(), /^hoodycall: cannot reach http:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)$/m);

  const stranger = curl(['-o', '/dev/null', relay.pipeUrl(name)]);
  await sleep(200);
  const busy = runCli(t, ['listen', name, '--server', relay.url.origin, '--output', '-']);
  assert.equal(await ended(busy), 6);
  assert.match(busy.stderr(), new RegExp(`^hoodycall: the pipe ${name} is busy: this pipe already has a receiver$`, "m"));
  await stranger;

  const lonely = runCli(t, ['listen', uniqueName(), '--server', relay.url.origin, '--output', '-']);
  const lonelyExit = await lonely.exited;
  assert.equal(lonelyExit.code, 7);
  assert.ok(lonelyExit.afterMs < 4_000, 'a 408 is not retried');
  for (const cli of [noFfmpeg, unreachable, busy, lonely]) assert.doesNotMatch(cli.stderr(), /^\s+at /m, 'no stack trace');
});

test('ffmpeg crashing mid-call: talk exits 9 at once, the listener sees a cut-off call, no ffmpeg is left', async (t) => {
  const relay = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
  const name = uniqueName();
  const receiver = curl(['-N', '-o', '/dev/null', relay.pipeUrl(name)]);
  const talker = runCli(t, ['talk', name, '--server', relay.url.origin, '--tone', '440']);
  let ffmpegPid = 0;
  for (let tries = 0; ffmpegPid === 0 && tries < 100; tries += 1) {
    await sleep(50);
    const found = await execa('pgrep', ['-P', String(talker.child.pid), '-f', 'sine=frequency'], { reject: false });
    ffmpegPid = Number(found.stdout.trim().split('\n')[0] ?? 0);
  }
  assert.ok(ffmpegPid > 0, 'talk started ffmpeg once the receiver was there');
  await sleep(700);
  const crashedAt = Date.now();
  process.kill(ffmpegPid, 'SIGSEGV');
  const exit = await talker.exited;
  assert.equal(exit.code, 9, talker.stderr());
  assert.ok(Date.now() - crashedAt < 1_500, `talk took ${Date.now() - crashedAt} ms to notice`);
  assert.match(talker.stderr(), /^hoodycall: ffmpeg was killed by SIGSEGV$/m);
  assert.equal((await receiver).exitCode, 18, 'the listener must see an aborted stream, not a clean end');
  assert.ok(await noFfmpegChildren(talker.child.pid));
});
