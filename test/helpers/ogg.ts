/** Real Ogg/Opus made by ffmpeg for the page-level tests, and a way to run pages through a stream. */
import assert from 'node:assert/strict';
import type { Transform } from 'node:stream';
import { parseOggPage, type OggPage } from '../../src/audio/ogg.js';
import { runFfmpeg } from './audio.js';

export interface OpusOggOptions {
  readonly seconds?: number;
  readonly frequency?: number;
  /** Opus frame and Ogg page duration, ms (hoodycall's talk: 20, or 10 with --low-latency). */
  readonly frameMs?: number;
}

/** A tone encoded as hoodycall's talker does: libopus, one frame per Ogg page, pages flushed at once. */
export async function opusOgg(options: OpusOggOptions = {}): Promise<Buffer> {
  const frameMs = options.frameMs ?? 20;
  const result = await runFfmpeg([
    '-hide_banner', '-loglevel', 'error',
    '-f', 'lavfi', '-i', `sine=frequency=${options.frequency ?? 440}:sample_rate=48000:duration=${options.seconds ?? 2}`,
    '-c:a', 'libopus', '-b:a', '32k', '-ac', '1', '-application', 'voip', '-frame_duration', String(frameMs),
    '-page_duration', String(frameMs * 1000), '-flush_packets', '1', '-f', 'ogg', '-',
  ]);
  assert.equal(result.exitCode, 0, result.stderr);
  return result.stdout;
}

/** Every page of a complete stream, with the toolkit under test (throws on anything else). */
export function pagesOf(data: Buffer): OggPage[] {
  const pages: OggPage[] = [];
  let offset = 0;
  while (offset < data.length) {
    const result = parseOggPage(data, offset);
    if (result.kind !== 'page') throw new Error(`no page at ${offset}: ${result.kind === 'invalid' ? result.reason : 'incomplete'}`);
    pages.push(result.page);
    offset += result.length;
  }
  return pages;
}

/** Writes `chunks` into `stream` (awaiting each write), ends it and returns everything it emitted. */
export async function runThrough<T>(stream: Transform, chunks: Iterable<unknown>): Promise<T[]> {
  const out: T[] = [];
  stream.on('data', (item: T) => out.push(item));
  const finished = new Promise<void>((resolve, reject) => {
    stream.once('end', resolve);
    stream.once('error', reject);
  });
  for (const chunk of chunks) {
    if (!stream.write(chunk)) await new Promise((resolve) => stream.once('drain', resolve));
  }
  stream.end();
  await finished;
  return out;
}
