import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import test from 'node:test';
import fc from 'fast-check';
import { generateCode, HEADER_BYTES, openCode, SealError, Sealer, type SealFailure, Unsealer } from '../../src/wire.js';
import { NodeSealer, NodeUnsealer } from '../../src/session/node-sealer.js';

// The CLI seals and opens with node:crypto, the page with WebCrypto: one format, byte for byte.

const call = await openCode(generateCode());

/** Random Ogg-page-sized plaintexts: empty, one byte, a typical 20 ms page, and a few large ones. */
const pages = fc.array(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ minLength: 300, maxLength: 70_000 })), { maxLength: 8 });
const cutsOf = fc.array(fc.nat(), { maxLength: 20 });
const salts = fc.uint8Array({ minLength: 16, maxLength: 16 });

interface Opened {
  readonly out: Buffer[];
  readonly failure?: SealFailure;
  readonly message?: string;
}

/** Edges of `bytes` cut at `cuts` (any numbers; folded into the stream). */
function chunks(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const edges = [...new Set([0, ...cuts.map((cut) => cut % (bytes.length + 1)), bytes.length])].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  for (let i = 0; i + 1 < edges.length; i += 1) out.push(bytes.subarray(edges[i], edges[i + 1]));
  return out;
}

async function openWeb(bytes: Uint8Array, cuts: readonly number[] = [], opener = call): Promise<Opened> {
  const unsealer = new Unsealer(opener);
  const out: Buffer[] = [];
  try {
    for (const chunk of chunks(bytes, cuts)) out.push(...(await unsealer.push(chunk)).map((plaintext) => Buffer.from(plaintext)));
  } catch (error) {
    assert.ok(error instanceof SealError, String(error));
    return { out, failure: error.failure, message: error.message };
  }
  return { out };
}

function openNode(bytes: Uint8Array, cuts: readonly number[] = [], opener = call): Opened {
  const unsealer = new NodeUnsealer(opener);
  const out: Buffer[] = [];
  try {
    // A copy of each chunk: what was pushed may be reused by the caller, as a socket's buffers are not.
    for (const chunk of chunks(bytes, cuts)) out.push(...unsealer.push(Uint8Array.from(chunk)));
  } catch (error) {
    assert.ok(error instanceof SealError, String(error));
    return { out, failure: error.failure, message: error.message };
  }
  return { out };
}

async function sealWeb(plaintexts: readonly Uint8Array[], salt: Uint8Array): Promise<Buffer> {
  const sealer = new Sealer(call, Uint8Array.from(salt));
  return Buffer.concat(await Promise.all(plaintexts.map((plaintext) => sealer.seal(plaintext))));
}

function sealNode(plaintexts: readonly Uint8Array[], salt: Uint8Array): Buffer {
  const sealer = new NodeSealer(call, salt);
  return Buffer.concat(plaintexts.map((plaintext) => sealer.seal(plaintext)));
}

test('property: under the same salt, node:crypto and WebCrypto seal any pages to the same bytes', async () => {
  await fc.assert(
    fc.asyncProperty(pages, salts, async (plaintexts, salt) => {
      assert.deepEqual(sealNode(plaintexts, salt), await sealWeb(plaintexts, salt));
    }),
    { numRuns: 60 },
  );
});

test('property: records sealed by either side, cut into any chunks, open on the other to exactly what was sealed', async () => {
  await fc.assert(
    fc.asyncProperty(pages, cutsOf, async (plaintexts, cuts) => {
      const expected = plaintexts.map((plaintext) => Buffer.from(plaintext));
      const fromNode = sealNode(plaintexts, randomBytes(16));
      assert.deepEqual(await openWeb(fromNode, cuts), { out: expected });
      const fromWeb = await sealWeb(plaintexts, randomBytes(16));
      assert.deepEqual(openNode(fromWeb, cuts), { out: expected });
    }),
    { numRuns: 60 },
  );
});

test('property: any change to a sealed stream (flipped byte, cut, dropped or repeated span) gets the same outcome from both openers, and no changed record plays', async () => {
  const plaintexts = [randomBytes(120), randomBytes(90), randomBytes(1), randomBytes(0), randomBytes(400)];
  const sealed = sealNode(plaintexts, randomBytes(16));
  const change = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat({ max: sealed.length - 1 }), mask: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('drop' as const), at: fc.nat({ max: sealed.length - 1 }), length: fc.integer({ min: 1, max: 200 }) }),
    fc.record({ kind: fc.constant('repeat' as const), at: fc.nat({ max: sealed.length - 1 }), length: fc.integer({ min: 1, max: 200 }) }),
  );
  await fc.assert(
    fc.asyncProperty(change, cutsOf, async (edit, cuts) => {
      let changed: Buffer;
      if (edit.kind === 'flip') {
        changed = Buffer.from(sealed);
        changed[edit.at] = (changed[edit.at] ?? 0) ^ edit.mask;
      } else if (edit.kind === 'drop') {
        changed = Buffer.concat([sealed.subarray(0, edit.at), sealed.subarray(edit.at + edit.length)]);
      } else {
        changed = Buffer.concat([sealed.subarray(0, edit.at + edit.length), sealed.subarray(edit.at)]);
      }
      const web = await openWeb(changed, cuts);
      const node = openNode(changed, cuts);
      assert.deepEqual(node, web);
      // What came out is the original, in order, and never everything, unless the change only added bytes after the last record.
      node.out.forEach((plaintext, i) => assert.deepEqual(plaintext, plaintexts[i]));
      const appendedOnly = edit.kind === 'repeat' && edit.at + edit.length >= sealed.length;
      if (!appendedOnly) assert.ok(node.out.length < plaintexts.length, `${JSON.stringify(edit)}: every record opened`);
      // A stream that does not fail stops at a cut record (a length made larger), after the header.
      if (node.failure === undefined) assert.ok(edit.at >= HEADER_BYTES);
    }),
    { numRuns: 300 },
  );
});

test('both openers refuse the same way: another code, a plain stream, an impossible length; a failed opener stays failed', async () => {
  const other = await openCode(generateCode());
  const sealed = sealNode([randomBytes(50)], randomBytes(16));
  const impossible = Buffer.from(sealed.subarray(0, HEADER_BYTES + 4));
  impossible.writeUInt32BE(0xffffff00, HEADER_BYTES);
  const cases: [string, Uint8Array, SealFailure][] = [
    ['another code', sealed, 'wrong-code'],
    ['plain Ogg', Buffer.from('OggSOpusHead and more'), 'not-sealed'],
    ['two bytes of text', Buffer.from('Og'), 'not-sealed'],
    ['an impossible length', impossible, 'tampered'],
  ];
  for (const [what, bytes, failure] of cases) {
    const opener = what === 'another code' ? other : call;
    const node = openNode(bytes, [], opener);
    assert.equal(node.failure, failure, what);
    assert.deepEqual(node, await openWeb(bytes, [], opener), what);
  }
  const unsealer = new NodeUnsealer(call);
  assert.throws(() => unsealer.push(Buffer.from('OggS')), SealError);
  assert.throws(() => unsealer.push(sealed), SealError);
});

test('each NodeSealer has its own salt: the same page seals to different bytes, each opening on its own', () => {
  const page = randomBytes(100);
  const a = new NodeSealer(call).seal(page);
  const b = new NodeSealer(call).seal(page);
  assert.notDeepEqual(a.subarray(0, HEADER_BYTES), b.subarray(0, HEADER_BYTES));
  assert.notDeepEqual(a.subarray(HEADER_BYTES), b.subarray(HEADER_BYTES));
  assert.deepEqual(openNode(a), { out: [page] });
  assert.deepEqual(openNode(b), { out: [page] });
  assert.throws(() => new NodeSealer(call).seal(new Uint8Array(256 * 1024 + 1)), RangeError);
});
