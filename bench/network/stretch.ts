/**
 * The two ways to play a backlog faster, measured side by side (bench/network/README.md, "Playing
 * faster"): ffmpeg's `atempo` filter in a pipe, and hoodycall's WSOLA in Node (src/audio/wsola.ts).
 *
 * - added delay: clicks written in real time (10 ms blocks) into `ffmpeg -f f32le -i - -af FILTER -f
 *   f32le -`, each click's onset found in the output; delay = out − in, minus the same pipe with
 *   `anull`. For the WSOLA, the audio it holds back (it is in-process: no pipe to subtract);
 * - CPU: the ffmpeg process's own (from /proc, less anull's), the WSOLA's from `process.hrtime`
 *   around each 10 ms push, per second of audio.
 *
 *   npm run build && node dist/bench/network/stretch.js
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Wsola } from '../../src/audio/wsola.js';
import { median, percentile } from '../latency/match.js';
import { prng } from '../latency/signal.js';

const RATE = 48_000;
const BLOCK = 480;
const SECONDS = 10;

/** Faint noise, a voiced stretch (150 Hz and overtones) every other second, and a 6 ms click every 500 ms. */
function signal(seconds: number): { samples: Float32Array; clicks: number[] } {
  const random = prng(7);
  const samples = new Float32Array(seconds * RATE);
  const clicks: number[] = [];
  for (let i = 0; i < samples.length; i++) {
    const t = i / RATE;
    const voiced = Math.floor(t) % 2 === 1 ? 0.2 * Math.sin(2 * Math.PI * 150 * t) + 0.1 * Math.sin(2 * Math.PI * 300 * t) : 0;
    samples[i] = voiced + (random() * 2 - 1) * 0.0005;
  }
  for (let at = RATE / 4; at + 288 < samples.length; at += RATE / 2) {
    clicks.push(at);
    for (let i = 0; i < 288; i++) samples[at + i] = 0.7 * Math.sin((2 * Math.PI * 2000 * i) / RATE + Math.PI / 2);
  }
  return { samples, clicks };
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Real-time pipe through ffmpeg with `filter`: click delays (ms) and CPU seconds per second of audio. */
async function ffmpegFilter(filter: string, samples: Float32Array, clicks: readonly number[]): Promise<{ delays: number[]; cpuPerSecond: number }> {
  const child = spawn('ffmpeg', ['-hide_banner', '-nostats', '-loglevel', 'error', '-probesize', '32', '-analyzeduration', '0', '-fflags', 'nobuffer',
    '-f', 'f32le', '-ar', String(RATE), '-ac', '1', '-i', '-', '-af', filter, '-flush_packets', '1', '-f', 'f32le', '-'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const sentAt = new Map<number, number>();
  const found: number[] = [];
  let carry = Buffer.alloc(0);
  let outSamples = 0;
  let quietUntil = 0;
  let clickIndex = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    const at = performance.now();
    const data = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
    const whole = data.length - (data.length % 4);
    carry = Buffer.from(data.subarray(whole));
    for (let i = 0; i < whole; i += 4) {
      const value = Math.abs(data.readFloatLE(i));
      const pos = outSamples + i / 4;
      if (pos >= quietUntil && value > 0.35) {
        const sent = sentAt.get(clickIndex);
        if (sent !== undefined) found.push(at - sent);
        clickIndex++;
        quietUntil = pos + RATE / 5;
      }
    }
    outSamples += whole / 4;
  });
  const pid = child.pid ?? 0;
  const start = performance.now();
  const clickSet = new Map(clicks.map((pos, index) => [pos, index] as const));
  for (let block = 0; block * BLOCK < samples.length; block++) {
    const due = start + block * 10;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const from = block * BLOCK;
    for (let pos = from; pos < from + BLOCK; pos++) {
      const index = clickSet.get(pos);
      if (index !== undefined) sentAt.set(index, performance.now());
    }
    const slice = samples.subarray(from, from + BLOCK);
    child.stdin.write(Buffer.from(slice.buffer, slice.byteOffset, slice.byteLength));
  }
  const cpu = cpuSeconds(pid);
  child.stdin.end();
  await new Promise((resolve) => child.once('exit', resolve));
  return { delays: found, cpuPerSecond: cpu / (samples.length / RATE) };
}

/** The WSOLA on the same signal in 10 ms pushes: per-push cost (µs) and what it holds back (ms). */
function wsolaRun(samples: Float32Array, tempo: number): { pushUs: number[]; heldMs: number[]; ratio: number } {
  const wsola = new Wsola();
  const pushUs: number[] = [];
  const heldMs: number[] = [];
  let out = 0;
  for (let pass = 0; pass < 2; pass++) {
    // The first pass warms the JIT; the second is timed.
    const timed = pass === 1;
    for (let from = 0; from < samples.length; from += BLOCK) {
      const before = process.hrtime.bigint();
      const result = wsola.push(samples.subarray(from, from + BLOCK), tempo);
      const after = process.hrtime.bigint();
      if (timed) {
        pushUs.push(Number(after - before) / 1000);
        heldMs.push(wsola.held / 48);
        out += result.length;
      }
    }
  }
  return { pushUs, heldMs, ratio: samples.length / Math.max(1, out) };
}

const fmt = (value: number, digits = 1): string => (Number.isFinite(value) ? value.toFixed(digits) : '-');

async function main(): Promise<void> {
  const { samples, clicks } = signal(SECONDS);
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  log(`playing faster: atempo vs WSOLA in Node — ${new Date().toISOString()}; ${SECONDS} s of signal per run, clicks every 500 ms`);
  log('');
  log('| stage | speed | added delay: median / p90 / max ms | CPU per second of audio | output / input |');
  log('|---|---|---|---|---|');
  const floor = await ffmpegFilter('anull', samples, clicks);
  const floorMedian = median(floor.delays);
  log(`| ffmpeg \`anull\` (the pipe itself: subtracted below) | 1 | ${fmt(floorMedian)} / ${fmt(percentile(floor.delays, 90))} / ${fmt(Math.max(...floor.delays))} (absolute) | ${fmt(floor.cpuPerSecond * 1000)} ms | – |`);
  for (const tempo of [1, 1.1, 1.25]) {
    const run = await ffmpegFilter(`atempo=${tempo}`, samples, clicks);
    const added = run.delays.map((delay) => delay - floorMedian);
    log(`| ffmpeg \`atempo=${tempo}\` | ${tempo} | ${fmt(median(added))} / ${fmt(percentile(added, 90))} / ${fmt(Math.max(...added))} (${run.delays.length}/${clicks.length} clicks) | ${fmt((run.cpuPerSecond - floor.cpuPerSecond) * 1000)} ms more | – |`);
  }
  for (const tempo of [1, 1.1, 1.25]) {
    const run = wsolaRun(samples, tempo);
    const cpuMs = (run.pushUs.reduce((sum, us) => sum + us, 0) / 1000 / SECONDS);
    log(`| Node WSOLA (wsola.ts) | ${tempo} | ${fmt(median(run.heldMs))} / ${fmt(percentile(run.heldMs, 90))} / ${fmt(Math.max(...run.heldMs))} (held back) | ${fmt(cpuMs)} ms (per 10 ms push: median ${fmt(median(run.pushUs))} µs, p99 ${fmt(percentile(run.pushUs, 99))} µs) | 1/${fmt(run.ratio, 3)} |`);
  }
}

await main();
