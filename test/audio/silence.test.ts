/**
 * A call that starts in digital silence (a muted or noise-gated microphone, `talk --input` of a file
 * with a silent lead-in) must start playing as soon as its first pages arrive. The latency bench once
 * saw the tuned encoder → `-f ogg` decoder start up to ~1 s late on a pure-zero signal, and a player
 * keeps such a start-up as delay for the whole call. The suspects were ffmpeg's input probing (silent
 * Opus packets are tiny: 3 bytes with `--low-latency`, below `-probesize 32`) and the Ogg demuxer
 * waiting for more pages. These tests feed the listen decoder a few pages of encoded silence, one
 * write, then nothing more: the decoder has to produce their audio without waiting for the rest.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { listenArgs, talkArgs, type OpusOptions } from '../../src/audio/args.js';
import { oggPages, runFfmpeg, testFfmpeg } from '../helpers/audio.js';

const SAMPLE_RATE = 48_000;
/** Opus headers: OpusHead and OpusTags, one page each (libopus/ffmpeg). */
const HEADER_PAGES = 2;

/** `seconds` of digital silence (all-zero s16le), encoded with talk's own encoder settings. */
async function encodedSilence(opus: OpusOptions, seconds: number): Promise<Buffer> {
  const pcm = Buffer.alloc(SAMPLE_RATE * 2 * seconds);
  const args = talkArgs({ kind: 'pcm', format: 's16le', sampleRate: SAMPLE_RATE, channels: 1 }, opus);
  const run = await runFfmpeg(args, pcm);
  assert.equal(run.exitCode, 0, run.stderr);
  return run.stdout;
}

/**
 * Writes `data` into listen's decoder (raw PCM out) and leaves its stdin open, as a live call does;
 * resolves with how many samples came out after `waitMs`, and when the first ones did.
 */
async function decodeWithoutEnd(data: Buffer, waitMs: number): Promise<{ samples: number; firstAfterMs: number | null }> {
  const decoder = spawn(await testFfmpeg(), listenArgs({ kind: 'pcm' }), { stdio: ['pipe', 'pipe', 'pipe'] });
  const started = performance.now();
  let bytes = 0;
  let firstAfterMs: number | null = null;
  decoder.stdout.on('data', (chunk: Buffer) => {
    firstAfterMs ??= performance.now() - started;
    bytes += chunk.length;
  });
  decoder.stdin.write(data);
  await new Promise((resolve) => setTimeout(resolve, waitMs));
  decoder.kill('SIGKILL');
  await new Promise((resolve) => decoder.once('close', resolve));
  return { samples: bytes / 2, firstAfterMs };
}

for (const [label, opus, frameMs] of [
  ['default (20 ms frames, voip)', {}, 20],
  ['--low-latency (10 ms frames, lowdelay: 3-byte silent packets)', { lowLatency: true }, 10],
] as const) {
  test(`a call that starts in digital silence starts playing at once: ${label}`, async () => {
    const stream = await encodedSilence(opus, 2);
    const pages = oggPages(stream);
    const audioPages = 5;
    assert.ok(pages.length > HEADER_PAGES + audioPages, `${pages.length} pages`);
    // The first few audio pages, as a live talker would have sent them by now, and nothing after.
    const end = pages[HEADER_PAGES + audioPages]?.offset ?? stream.length;
    const { samples, firstAfterMs } = await decodeWithoutEnd(stream.subarray(0, end), 1_500);
    assert.ok(firstAfterMs !== null, 'the decoder produced nothing from the first pages of a silent stream');
    // ffmpeg needs ~40–100 ms to start; waiting for more input would show as no output, or ≥ 1 s.
    assert.ok(firstAfterMs < 1_000, `first PCM after ${Math.round(firstAfterMs)} ms`);
    // All but the first frame: with -fflags nobuffer, the packet that stream probing read is dropped
    // (measured: the same for noise), and the encoder's pre-skip is trimmed from the start.
    const frame = (SAMPLE_RATE * frameMs) / 1000;
    assert.ok(samples >= (audioPages - 1) * frame - 312, `${samples} samples from ${audioPages} pages of ${frame}`);
  });
}
