import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { CODE_BITS, generateCode, HEADER_BYTES, isSecretCode, openCode, SealError, Sealer, secretCode, Unsealer, type SealFailure } from '../../src/wire.js';
import { generatePipeName } from '../../src/client/index.js';

const code = generateCode();
const call = await openCode(code);

/** A fake "Ogg page": OggS and OpusHead in every plaintext, so a test can look for them in the sealed bytes. */
function page(index: number, length = 200): Uint8Array {
  const bytes = new Uint8Array(length);
  bytes.set(Buffer.from(`OggS${index % 2 === 0 ? 'OpusHead' : 'OpusTags'}`));
  for (let i = 12; i < length; i += 1) bytes[i] = (index * 7 + i) & 255;
  return bytes;
}

/** A connection's records, each as the sealer wrote it (the first with the header in front). */
async function sealAll(plaintexts: readonly Uint8Array[], sealer = new Sealer(call)): Promise<Uint8Array[]> {
  return Promise.all(plaintexts.map((plaintext) => sealer.seal(plaintext)));
}

function join(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** Pushes `bytes` cut at `cuts`; the plaintexts out, or the failure. */
async function open(bytes: Uint8Array, cuts: readonly number[] = [], unsealer = new Unsealer(call)): Promise<{ out: Uint8Array[]; failure?: SealFailure }> {
  const out: Uint8Array[] = [];
  const edges = [...new Set([0, ...cuts.filter((cut) => cut > 0 && cut < bytes.length), bytes.length])].sort((a, b) => a - b);
  try {
    for (let i = 0; i + 1 < edges.length; i += 1) out.push(...(await unsealer.push(bytes.subarray(edges[i], edges[i + 1]))));
  } catch (error) {
    assert.ok(error instanceof SealError, String(error));
    return { out, failure: error.failure };
  }
  return { out };
}

test('codes: 140 bits in a shape of their own; a generated pipe name is never taken for a code, nor a code for a plain name', () => {
  assert.ok(CODE_BITS >= 128);
  assert.match(code, /^sealed-[0-9a-z]{4}(-[0-9a-z]{4}){6}$/);
  assert.notEqual(generateCode(), generateCode());
  assert.equal(secretCode(code.toUpperCase()), code);
  for (let i = 0; i < 50; i += 1) assert.equal(isSecretCode(generatePipeName()), false);
  for (const text of ['sealed', 'sealed-', `${code}-abcd`, code.slice(0, -1), code.replace(/.$/, 'u'), `x${code}`, 'room/a']) assert.equal(isSecretCode(text), false, text);
});

test('openCode: both ends derive the same pipe name, which does not show the code', async () => {
  const again = await openCode(code.toUpperCase());
  assert.equal(again.pipeName, call.pipeName);
  assert.match(call.pipeName, /^[0-9a-f]{32}$/);
  assert.notEqual((await openCode(generateCode())).pipeName, call.pipeName);
  for (const group of code.slice('sealed-'.length).split('-')) assert.ok(!call.pipeName.includes(group) || group.length < 5);
  await assert.rejects(openCode('k7m2-9qxd-4ftz-8wnb'));
});

test('property: any records, cut into any chunks, open to exactly what was sealed, and the sealed bytes hold no OggS or Opus header', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.uint8Array({ minLength: 0, maxLength: 600 }), { maxLength: 12 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      async (plaintexts, rawCuts) => {
        const sealed = join(await sealAll(plaintexts.map((p, i) => { const withHeader = new Uint8Array(p.length + 12); withHeader.set(page(i, 12)); withHeader.set(p, 12); return withHeader; })));
        const text = Buffer.from(sealed).toString('latin1');
        assert.ok(!text.includes('OggS') && !text.includes('OpusHead') && !text.includes('OpusTags'));
        const { out, failure } = await open(sealed, rawCuts.map((cut) => cut % (sealed.length + 1)));
        assert.equal(failure, undefined);
        assert.equal(out.length, plaintexts.length);
        out.forEach((plaintext, i) => assert.deepEqual(Buffer.from(plaintext.subarray(12)), Buffer.from(plaintexts[i] ?? [])));
      },
    ),
    { numRuns: 60 },
  );
});

test('property: one flipped byte anywhere is never played: the stream fails, or stops before the changed record', async () => {
  const plaintexts = [page(0), page(1), page(2), page(3)];
  const sealed = join(await sealAll(plaintexts));
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: sealed.length - 1 }), fc.integer({ min: 1, max: 255 }), async (at, mask) => {
      const changed = sealed.slice();
      changed[at] = (changed[at] ?? 0) ^ mask;
      const { out, failure } = await open(changed);
      // Whatever came out before the change is the original; nothing after it came out.
      out.forEach((plaintext, i) => assert.deepEqual(plaintext, plaintexts[i]));
      assert.ok(out.length < plaintexts.length, `byte ${at} changed, yet every record opened`);
      // A record length made larger leaves the reader waiting for bytes that never come: a cut, never audio.
      if (failure === undefined) assert.ok(at >= HEADER_BYTES);
    }),
    { numRuns: 300 },
  );
});

test('a dropped, reordered or replayed record, or one from another connection, fails authentication', async () => {
  const records = await sealAll([page(0), page(1), page(2), page(3)]);
  const [first, second, third, fourth] = records as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  const cases: [string, Uint8Array[]][] = [
    ['dropped', [first, third, fourth]],
    ['reordered', [first, third, second, fourth]],
    ['replayed', [first, second, second, third]],
  ];
  for (const [what, parts] of cases) {
    const { out, failure } = await open(join(parts));
    assert.equal(failure, 'tampered', what);
    assert.ok(out.length <= 2, what);
  }
  // The second record of another connection (same code, its own salt) after this one's first.
  const other = await sealAll([page(0), page(1)]);
  const { failure } = await open(join([first, other[1] ?? new Uint8Array()]));
  assert.equal(failure, 'tampered');
});

test('each connection has its own salt: the same pages seal to different bytes', async () => {
  const a = join(await sealAll([page(0)]));
  const b = join(await sealAll([page(0)]));
  assert.notDeepEqual(a.subarray(0, HEADER_BYTES), b.subarray(0, HEADER_BYTES));
  assert.notDeepEqual(a.subarray(HEADER_BYTES), b.subarray(HEADER_BYTES));
});

test('a stream sealed with another code is a wrong code; plain Ogg or text is not sealed; a failed reader stays failed', async () => {
  const other = await openCode(generateCode());
  const sealed = join(await sealAll([page(0)], new Sealer(other)));
  assert.equal((await open(sealed)).failure, 'wrong-code');
  assert.equal((await open(page(0))).failure, 'not-sealed');
  assert.equal((await open(new TextEncoder().encode('<html>busy</html>'))).failure, 'not-sealed');
  // Fails as soon as the first bytes differ, without waiting for a whole header.
  assert.equal((await open(new TextEncoder().encode('Og'))).failure, 'not-sealed');
  const unsealer = new Unsealer(call);
  await assert.rejects(unsealer.push(page(0)), SealError);
  await assert.rejects(unsealer.push(join(await sealAll([page(0)]))), SealError);
});

test('an impossible record length fails at once instead of waiting for megabytes', async () => {
  const sealed = join(await sealAll([page(0)]));
  const changed = sealed.slice(0, HEADER_BYTES + 4);
  new DataView(changed.buffer).setUint32(HEADER_BYTES, 0xffffff00);
  assert.equal((await open(changed)).failure, 'tampered');
});
