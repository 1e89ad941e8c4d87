/**
 * The CLI's sealer and opener: docs/sealed.md's records byte for byte, with node:crypto's synchronous
 * AES-256-GCM and HKDF instead of WebCrypto. WebCrypto in Node costs 60–70 µs of CPU per record (a
 * promise and a libuv thread-pool job each way) against 9–12 µs here, and adds an async hop to every
 * 20 ms page on both ends (bench/README.md, "Sealed calls"). The page keeps src/browser/sealed.ts;
 * test/session/node-sealer.test.ts proves each side opens what the other seals.
 */
import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, KeyObject, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  CHECK_BYTES,
  HEADER_BYTES,
  KEY_CHECK_INFO,
  LENGTH_BYTES,
  MAX_PLAINTEXT_BYTES,
  RECORD_KEY_INFO,
  recordAad,
  recordNonce,
  SALT_BYTES,
  SEALED_MAGIC,
  sealErrors,
  type SealedCall,
  SealError,
  TAG_BYTES,
} from '../wire.js';

const KEY_BYTES = 32;

/**
 * The record key and key check of the connection with `salt`. The code's HKDF key was imported
 * non-extractable for the page's sake; `KeyObject.from` hands node:crypto the same key material inside
 * this process (where the code came from argv), so derivation too is synchronous.
 */
function connectionKeys(call: SealedCall, salt: Uint8Array): { key: KeyObject; check: Buffer } {
  const secret = KeyObject.from(call.secret);
  return {
    key: createSecretKey(Buffer.from(hkdfSync('sha256', secret, salt, RECORD_KEY_INFO, KEY_BYTES))),
    check: Buffer.from(hkdfSync('sha256', secret, salt, KEY_CHECK_INFO, CHECK_BYTES)),
  };
}

/**
 * Seals one connection's stream, as `Sealer` does, synchronously: a fresh random salt, the header
 * before the first record, then one record per `seal()`.
 */
export class NodeSealer {
  readonly #key: KeyObject;
  readonly #header: Buffer;
  #counter = 0;

  constructor(call: SealedCall, salt: Uint8Array = randomBytes(SALT_BYTES)) {
    const { key, check } = connectionKeys(call, salt);
    this.#key = key;
    this.#header = Buffer.concat([SEALED_MAGIC, salt, check]);
  }

  /** The bytes for `plaintext` (one or more whole Ogg pages): its record, after the header on the first. */
  seal(plaintext: Uint8Array): Buffer {
    if (plaintext.length > MAX_PLAINTEXT_BYTES) throw new RangeError(`a record carries at most ${MAX_PLAINTEXT_BYTES} bytes`);
    const counter = this.#counter++;
    const cipher = createCipheriv('aes-256-gcm', this.#key, recordNonce(counter), { authTagLength: TAG_BYTES });
    cipher.setAAD(recordAad(this.#header, counter));
    const body = cipher.update(plaintext);
    const final = cipher.final();
    const tag = cipher.getAuthTag();
    const length = Buffer.allocUnsafe(LENGTH_BYTES);
    length.writeUInt32BE(body.length + final.length + tag.length);
    return Buffer.concat(counter === 0 ? [this.#header, length, body, final, tag] : [length, body, final, tag]);
  }
}

/**
 * Opens one connection's sealed stream, as `Unsealer` does, synchronously: bytes in as they come,
 * whole plaintexts out, nothing that did not authenticate; after a failure every push throws.
 */
export class NodeUnsealer {
  readonly #call: SealedCall;
  #pending: Buffer = Buffer.alloc(0);
  #keys: { key: KeyObject; header: Buffer } | null = null;
  #counter = 0;
  #failed: SealError | null = null;

  constructor(call: SealedCall) {
    this.#call = call;
  }

  /** Records opened so far on this connection. */
  get records(): number {
    return this.#counter;
  }

  /** The stream ended: bytes left over are a cut record (not a failure of authentication; the caller decides). */
  get partial(): boolean {
    return this.#pending.length > 0;
  }

  push(chunk: Uint8Array): Buffer[] {
    if (this.#failed !== null) throw this.#failed;
    try {
      return this.#push(chunk);
    } catch (error) {
      if (error instanceof SealError) this.#failed = error;
      throw error;
    }
  }

  #push(chunk: Uint8Array): Buffer[] {
    this.#pending = this.#pending.length === 0 ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) : Buffer.concat([this.#pending, chunk]);
    const out: Buffer[] = [];
    if (this.#keys === null) {
      const seen = Math.min(this.#pending.length, SEALED_MAGIC.length);
      if (this.#pending.compare(SEALED_MAGIC, 0, seen, 0, seen) !== 0) throw sealErrors.notSealed();
      if (this.#pending.length < HEADER_BYTES) return out;
      // A copy: the header outlives the chunk it came in (it is every record's associated data).
      const header = Buffer.from(this.#pending.subarray(0, HEADER_BYTES));
      const { key, check } = connectionKeys(this.#call, header.subarray(SEALED_MAGIC.length, SEALED_MAGIC.length + SALT_BYTES));
      if (!timingSafeEqual(check, header.subarray(SEALED_MAGIC.length + SALT_BYTES))) throw sealErrors.wrongCode();
      this.#keys = { key, header };
      this.#pending = this.#pending.subarray(HEADER_BYTES);
    }
    const { key, header } = this.#keys;
    while (this.#pending.length >= LENGTH_BYTES) {
      const length = this.#pending.readUInt32BE(0);
      if (length < TAG_BYTES || length > MAX_PLAINTEXT_BYTES + TAG_BYTES) throw sealErrors.impossibleLength(this.#counter);
      if (this.#pending.length < LENGTH_BYTES + length) break;
      const counter = this.#counter;
      const bodyEnd = LENGTH_BYTES + length - TAG_BYTES;
      let plaintext: Buffer;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, recordNonce(counter), { authTagLength: TAG_BYTES });
        decipher.setAAD(recordAad(header, counter));
        decipher.setAuthTag(this.#pending.subarray(bodyEnd, LENGTH_BYTES + length));
        const body = decipher.update(this.#pending.subarray(LENGTH_BYTES, bodyEnd));
        // final() throws when the tag does not authenticate: nothing of `body` is passed on before it.
        const final = decipher.final();
        plaintext = final.length === 0 ? body : Buffer.concat([body, final]);
      } catch {
        throw sealErrors.unauthentic(counter);
      }
      this.#counter += 1;
      this.#pending = this.#pending.subarray(LENGTH_BYTES + length);
      out.push(plaintext);
    }
    return out;
  }
}
