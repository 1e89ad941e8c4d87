import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildOggPageFromPackets, opusPacketSamples } from '../../src/audio/ogg.js';
import { silentOpusPacket } from '../../src/audio/opus-silence.js';
import { runFfmpeg } from '../helpers/audio.js';
import { s16leToFloat } from '../helpers/goertzel.js';

/** A minimal Ogg Opus stream (RFC 7845) around `packets`. */
function oggOf(packets: readonly Buffer[]): Buffer {
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'latin1');
  head.writeUInt8(1, 8);
  head.writeUInt8(1, 9);
  head.writeUInt16LE(0, 10);
  head.writeUInt32LE(48_000, 12);
  const tags = Buffer.concat([Buffer.from('OpusTags', 'latin1'), Buffer.from([4, 0, 0, 0]), Buffer.from('test'), Buffer.alloc(4)]);
  const pages = [buildOggPageFromPackets([head], { bos: true, granule: 0n, serial: 9, sequence: 0 }), buildOggPageFromPackets([tags], { granule: 0n, serial: 9, sequence: 1 })];
  let granule = 0n;
  packets.forEach((packet, index) => {
    granule += BigInt(opusPacketSamples(packet));
    pages.push(buildOggPageFromPackets([packet], { granule, serial: 9, sequence: index + 2, eos: index === packets.length - 1 }));
  });
  return Buffer.concat(pages);
}

for (const samples of [120, 240, 480, 960, 1920, 2880]) {
  test(`a silent packet of ${samples / 48} ms decodes to ${samples} samples of digital silence`, async () => {
    const packet = silentOpusPacket(samples);
    assert.ok(packet !== null);
    assert.equal(opusPacketSamples(packet), samples);
    const result = await runFfmpeg(['-hide_banner', '-loglevel', 'error', '-f', 'ogg', '-i', '-', '-f', 's16le', '-ac', '1', '-ar', '48000', '-'], oggOf(Array.from({ length: 50 }, () => packet)));
    assert.equal(result.exitCode, 0, result.stderr);
    const decoded = s16leToFloat(result.stdout);
    assert.equal(decoded.length, 50 * samples);
    assert.ok(decoded.every((value) => value === 0));
  });
}

test('no single silent packet for lengths Opus cannot frame', () => {
  assert.equal(silentOpusPacket(1000), null);
  assert.equal(silentOpusPacket(0), null);
});
