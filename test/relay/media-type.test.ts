/**
 * What a receiver is told the bytes are (src/relay/media-type.ts): an allow-list of types a browser
 * plays or shows as inert text, rebuilt from a strict parse, so no sender can make a browser render
 * its bytes as a document on the relay's origin. Unit rules here; the browser proof is in
 * test/browser/embed.test.ts.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseMediaType, receiverContentType, receiverDisposition } from '../../src/relay/media-type.js';

test('parseMediaType follows RFC 9110 and nothing looser', () => {
  assert.deepEqual(parseMediaType('audio/ogg; codecs=opus'), { type: 'audio', subtype: 'ogg', parameters: [['codecs', 'opus']] });
  assert.deepEqual(parseMediaType('Text/Plain;Charset="UTF-8"'), { type: 'text', subtype: 'plain', parameters: [['charset', 'UTF-8']] });
  assert.deepEqual(parseMediaType('audio/webm;codecs="opus, vorbis"'), { type: 'audio', subtype: 'webm', parameters: [['codecs', 'opus, vorbis']] });
  assert.deepEqual(parseMediaType('text/plain ; ; charset=utf-8 ;'), { type: 'text', subtype: 'plain', parameters: [['charset', 'utf-8']] });
  for (const bad of ['text/plain, text/html', 'text/plain; charset=utf-8, text/html', 'text', '/plain', 'text/', 'te xt/plain', 'text/plain; charset', 'text/plain; a=b c', 'text/plain; a="unterminated', 'a/b; x=1 y=2', '']) {
    assert.equal(parseMediaType(bad), undefined, bad);
  }
});

test('receivers get only audio, video, ogg, octet-stream or text/plain; every bypass becomes inert', () => {
  const cases: [string | undefined, string][] = [
    [undefined, 'application/octet-stream'],
    ['', 'application/octet-stream'],
    ['audio/ogg; codecs=opus', 'audio/ogg; codecs=opus'],
    ['audio/webm;codecs="opus"', 'audio/webm; codecs=opus'],
    ['video/webm', 'video/webm'],
    ['application/ogg', 'application/ogg'],
    ['application/vnd.hoodycall.sealed+ogg', 'application/vnd.hoodycall.sealed+ogg'],
    ['application/vnd.hoodycall.sealed+json', 'text/plain'],
    ['application/octet-stream', 'application/octet-stream'],
    ['text/plain; charset=utf-8', 'text/plain; charset=utf-8'],
    ['text/plain; charset=utf-8; format=flowed', 'text/plain; charset=utf-8'],
    // Browsers take the last type of a list: the whole value is refused.
    ['text/plain, text/html', 'application/octet-stream'],
    ['audio/ogg, text/html', 'application/octet-stream'],
    // Text a browser may run or transform becomes plain text; its charset is kept.
    ['text/html; charset=utf-8', 'text/plain; charset=utf-8'],
    ['TEXT/HTML', 'text/plain'],
    ['text/xsl', 'text/plain'],
    ['text/xml', 'text/plain'],
    ['application/xml', 'text/plain'],
    ['application/xslt+xml', 'text/plain'],
    ['image/svg+xml', 'text/plain'],
    ['application/xhtml+xml', 'text/plain'],
    ['application/javascript', 'text/plain'],
    ['text/javascript; charset=utf-8', 'text/plain; charset=utf-8'],
    ['application/json', 'text/plain'],
    ['text/css', 'text/plain'],
    ['text/vtt', 'text/plain'],
    // Anything else a browser could open (PDF, images, multipart) is just bytes.
    ['application/pdf', 'application/octet-stream'],
    ['image/png', 'application/octet-stream'],
    ['multipart/x-mixed-replace; boundary=x', 'application/octet-stream'],
    ['application/x-shockwave-flash', 'application/octet-stream'],
  ];
  for (const [sent, expected] of cases) assert.equal(receiverContentType(sent), expected, String(sent));
});

test('whatever a sender writes, the receiver type is one of five kinds and parses back as one type', () => {
  const allowed = /^(audio\/[^;,\s]+|video\/[^;,\s]+|application\/ogg|application\/octet-stream|text\/plain)(; |$)/;
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary-ascii', maxLength: 300 }), fc.string()), (sent) => {
      const type = receiverContentType(sent);
      assert.match(type, allowed);
      assert.ok(parseMediaType(type) !== undefined, `${JSON.stringify(sent)} -> ${JSON.stringify(type)}`);
      assert.ok(!type.includes(','), 'never a list');
    }),
    { numRuns: 5_000 },
  );
});

test('Content-Disposition is always attachment; a plain file name is kept, anything else dropped', () => {
  assert.equal(receiverDisposition(undefined), 'attachment');
  assert.equal(receiverDisposition('inline'), 'attachment');
  assert.equal(receiverDisposition('attachment; filename="call.ogg"'), 'attachment; filename="call.ogg"');
  assert.equal(receiverDisposition('inline; filename=call.ogg'), 'attachment; filename="call.ogg"');
  assert.equal(receiverDisposition('attachment; filename="a\\"b.html"'), 'attachment');
  assert.equal(receiverDisposition('attachment; filename="../etc/passwd"'), 'attachment');
  assert.equal(receiverDisposition('attachment; filename=".."'), 'attachment');
  assert.equal(receiverDisposition('attachment; filename="x\r\nSet-Cookie: a=b"'), 'attachment');
  fc.assert(
    fc.property(fc.string({ unit: 'binary-ascii', maxLength: 200 }), (sent) => {
      assert.match(receiverDisposition(sent), /^attachment(; filename="[A-Za-z0-9._ ()+-]{1,128}")?$/);
    }),
  );
});
