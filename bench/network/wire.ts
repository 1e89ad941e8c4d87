/**
 * What one second of speech costs on the wire, per encoder choice (bench/network/README.md, "Wire
 * bytes"): 20 s of synthetic speech (espeak-ng) encoded by ffmpeg/libopus as `talk` would, the Ogg
 * pages parsed, and every layer counted as the talker sends it — Opus packets, Ogg page headers, the
 * HTTP chunk framing (one chunk per page: hex length, CRLF, CRLF) and IPv4+TCP headers (52 bytes per
 * segment with timestamps, one segment per page as tcpdump showed for talk's writes).
 *
 *   apt-get install espeak-ng && npm run build && node dist/bench/network/wire.js
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OGG_HEADER_BYTES, pagePackets, parseOggPage } from '../../src/audio/ogg.js';

const TEXT =
  'The quick brown fox jumps over the lazy dog. A voice call over a thin link has to say more with fewer bytes, ' +
  'and every page of audio carries its own headers. When the train goes into the tunnel the line goes quiet, and ' +
  'when it comes out again the talker should be heard at once, not five seconds late. Shall we meet at the ' +
  'station at half past nine, or would ten be better for you? I will bring the tickets and the map.';

const IP_TCP_BYTES = 52;

interface Choice {
  readonly kbps: number;
  readonly frameMs: number;
  readonly pageMs: number;
  readonly vbr: 'on' | 'constrained' | 'off';
}

const CHOICES: readonly Choice[] = [
  { kbps: 32, frameMs: 10, pageMs: 20, vbr: 'on' },
  { kbps: 32, frameMs: 20, pageMs: 20, vbr: 'on' },
  { kbps: 32, frameMs: 20, pageMs: 40, vbr: 'on' },
  { kbps: 32, frameMs: 20, pageMs: 60, vbr: 'on' },
  { kbps: 24, frameMs: 10, pageMs: 20, vbr: 'on' },
  { kbps: 24, frameMs: 20, pageMs: 20, vbr: 'on' },
  { kbps: 24, frameMs: 20, pageMs: 40, vbr: 'on' },
  { kbps: 24, frameMs: 20, pageMs: 60, vbr: 'on' },
  { kbps: 24, frameMs: 20, pageMs: 40, vbr: 'constrained' },
  { kbps: 24, frameMs: 20, pageMs: 40, vbr: 'off' },
  { kbps: 16, frameMs: 20, pageMs: 20, vbr: 'on' },
  { kbps: 16, frameMs: 20, pageMs: 40, vbr: 'on' },
  { kbps: 16, frameMs: 20, pageMs: 60, vbr: 'on' },
  { kbps: 12, frameMs: 20, pageMs: 60, vbr: 'on' },
];

function encode(raw: string, choice: Choice): Buffer {
  return execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-f', 's16le', '-ar', '48000', '-ac', '1', '-i', raw,
    '-c:a', 'libopus', '-b:a', `${choice.kbps}k`, '-vbr', choice.vbr, '-application', 'voip', '-frame_duration', String(choice.frameMs),
    '-page_duration', String(choice.pageMs * 1000), '-flush_packets', '1', '-f', 'ogg', '-',
  ], { maxBuffer: 64 << 20 });
}

function main(): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hc-wire-'));
  try {
    const wav = path.join(dir, 'speech.wav');
    const raw = path.join(dir, 'speech.raw');
    execFileSync('espeak-ng', ['-s', '160', '-w', wav, TEXT]);
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', wav, '-ar', '48000', '-ac', '1', '-f', 's16le', raw]);
    const seconds = readFileSync(raw).length / 2 / 48_000;
    const log = (line: string): void => void process.stdout.write(`${line}\n`);
    log(`wire bytes per second of speech: ${seconds.toFixed(1)} s of espeak-ng speech (-s 160), ffmpeg libopus -application voip, one page per write`);
    log('');
    log('| -b:a | frame ms | page ms | -vbr | pages/s | Opus packets | Ogg page headers | chunk framing | = what talk writes | IPv4+TCP | = on the wire (kbit/s) |');
    log('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const choice of CHOICES) {
      const ogg = encode(raw, choice);
      let offset = 0;
      let payload = 0;
      let headers = 0;
      let framing = 0;
      let audioPages = 0;
      while (offset < ogg.length) {
        const result = parseOggPage(ogg, offset);
        if (result.kind !== 'page') throw new Error(`no Ogg page at ${offset}`);
        const page = result.page;
        // The two header pages (OpusHead, OpusTags) are sent once per stream: not per second.
        if (page.granule > 0n) {
          audioPages++;
          payload += pagePackets(page).pieces.reduce((sum, piece) => sum + piece.length, 0);
          headers += OGG_HEADER_BYTES + page.segments.length;
          framing += result.length.toString(16).length + 4;
        }
        offset += result.length;
      }
      const kbps = (bytes: number): string => ((bytes * 8) / seconds / 1000).toFixed(1);
      const written = payload + headers + framing;
      const tcp = audioPages * IP_TCP_BYTES;
      log(`| ${choice.kbps}k | ${choice.frameMs} | ${choice.pageMs} | ${choice.vbr} | ${(audioPages / seconds).toFixed(1)} | ${kbps(payload)} | ${kbps(headers)} | ${kbps(framing)} | ${kbps(written)} | ${kbps(tcp)} | **${kbps(written + tcp)}** |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
