import test from 'node:test';
import assert from 'node:assert/strict';
import { isOpusHead, isOpusTags, opusHead, opusPacketSamples, opusTags, parseOpusHead } from '../../src/ogg/opus.js';

test('OpusHead and OpusTags: written, recognised, read back; too short is not a header', () => {
  const head = opusHead({ channels: 1, preSkip: 312, inputSampleRate: 48_000 });
  assert.ok(isOpusHead(head));
  assert.deepEqual(parseOpusHead(head), { channels: 1, preSkip: 312, inputSampleRate: 48_000 });
  assert.ok(!isOpusHead(head.subarray(0, 18)));
  const tags = opusTags('hoodycall');
  assert.equal(tags.length, 16 + 'hoodycall'.length);
  assert.ok(isOpusTags(tags) && !isOpusHead(tags) && !isOpusTags(head));
  assert.ok(isOpusTags(opusTags('')));
  // "OpusTags" with no room for the vendor length and comment count (RFC 7845 §5.2: 16 bytes at least).
  assert.ok(!isOpusTags(opusTags('').subarray(0, 15)));
  assert.throws(() => opusTags('h\u00e9'), RangeError);
});

test('Opus TOC: samples per packet for every configuration and frame-count code', () => {
  const perConfig = [
    480, 960, 1920, 2880, 480, 960, 1920, 2880, 480, 960, 1920, 2880, // SILK NB, MB, WB
    480, 960, 480, 960, // hybrid SWB, FB
    120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960, // CELT
  ];
  perConfig.forEach((samples, config) => {
    assert.equal(opusPacketSamples(new Uint8Array([config << 3])), samples, `config ${config}, code 0`);
    assert.equal(opusPacketSamples(new Uint8Array([(config << 3) | 1])), 2 * samples, `config ${config}, code 1`);
    assert.equal(opusPacketSamples(new Uint8Array([(config << 3) | 2])), 2 * samples, `config ${config}, code 2`);
    assert.equal(opusPacketSamples(new Uint8Array([(config << 3) | 3, 0x80 | 5])), 5 * samples, `config ${config}, code 3 (VBR flag set)`);
  });
  assert.equal(opusPacketSamples(new Uint8Array(0)), 0);
  assert.equal(opusPacketSamples(new Uint8Array([(31 << 3) | 3])), 0, 'code 3 without its count byte');
});
