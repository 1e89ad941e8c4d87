/**
 * Sealed calls: the secret code, what both ends derive from it, and the stream format (docs/sealed.md).
 * It uses only WebCrypto (`crypto.subtle`, in Node 20 and every browser), TextEncoder and typed arrays,
 * and lives in src/browser because the relay serves that directory's compiled scripts to the page as
 * they are; Node imports it through src/protocol/sealed.ts. The CLI seals and opens records with
 * node:crypto instead (src/session/node-sealer.ts, the same bytes, without WebCrypto's per-record cost
 * in Node): a change to the format here changes there too.
 *
 * The relay sees a pipe name derived from the code (HKDF, one-way) and records it cannot open: each
 * record is one AES-256-GCM message under a key derived from the code and a random salt sent once per
 * connection, with the record's counter as its nonce and, with the stream header, as its associated
 * data. A record flipped, dropped, reordered, replayed or moved from another connection fails to open.
 */

/** What a sealed talker sends as its Content-Type (an inert type: a browser saves it, never runs it). */
export const SEALED_MEDIA_TYPE = 'application/vnd.hoodycall.sealed+ogg';

/** Every code starts so: `listen CODE` tells a code from a pipe name by it. */
export const CODE_PREFIX = 'sealed-';
/** Crockford's base32, as pipe names: no I, L, O or U. */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const CODE_GROUPS = 7;
const CODE_GROUP_LENGTH = 4;
/** 28 characters of 5 bits each. */
export const CODE_BITS = CODE_GROUPS * CODE_GROUP_LENGTH * 5;
const CODE_SHAPE = new RegExp(`^${CODE_PREFIX}[${ALPHABET}]{${CODE_GROUP_LENGTH}}(?:-[${ALPHABET}]{${CODE_GROUP_LENGTH}}){${CODE_GROUPS - 1}}$`);

/** The stream header's first bytes: the format and its version (never `OggS`). */
export const SEALED_MAGIC = new TextEncoder().encode('HCSEAL01');
export const SALT_BYTES = 16;
export const CHECK_BYTES = 16;
/** Magic, salt, key check. */
export const HEADER_BYTES = SEALED_MAGIC.length + SALT_BYTES + CHECK_BYTES;
export const LENGTH_BYTES = 4;
export const TAG_BYTES = 16;
/**
 * The largest record's plaintext: an Ogg page is at most 65,307 bytes, and a connection's first record
 * carries the header pages with the first audio page. A larger length is not ours: the reader stops
 * rather than buffer it.
 */
export const MAX_PLAINTEXT_BYTES = 256 * 1024;

const LABEL = 'hoodycall sealed v1';
/** HKDF `info` of a connection's record key and of its key check (docs/sealed.md). */
export const RECORD_KEY_INFO = 'record key';
export const KEY_CHECK_INFO = 'key check';
const utf8 = (text: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(text);

/** A fresh code: 140 bits from the platform's CSPRNG (`sealed-k7m2-9qxd-…`, seven groups of four). */
export function generateCode(): string {
  // 256 is a multiple of 32: each byte's low five bits are uniform.
  const bytes = crypto.getRandomValues(new Uint8Array(CODE_GROUPS * CODE_GROUP_LENGTH));
  const characters = Array.from(bytes, (byte) => ALPHABET[byte & 31] ?? '0');
  const groups: string[] = [];
  for (let i = 0; i < CODE_GROUPS; i += 1) groups.push(characters.slice(i * CODE_GROUP_LENGTH, (i + 1) * CODE_GROUP_LENGTH).join(''));
  return CODE_PREFIX + groups.join('-');
}

/** The code as both ends use it (lower case), or undefined when `text` does not have a code's shape. */
export function secretCode(text: string): string | undefined {
  const code = text.trim().toLowerCase();
  return CODE_SHAPE.test(code) ? code : undefined;
}

/** Whether `text` is a secret code rather than a pipe name. */
export function isSecretCode(text: string): boolean {
  return secretCode(text) !== undefined;
}

type SecretKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

/** What a code opens: the pipe name the relay sees, and the code as HKDF input key material. */
export interface SealedCall {
  readonly pipeName: string;
  readonly secret: SecretKey;
}

/** Derives the call's pipe name from a code (checked by `secretCode`; throws on anything else). */
export async function openCode(text: string): Promise<SealedCall> {
  const code = secretCode(text);
  if (code === undefined) throw new Error('not a sealed call code');
  const secret = await crypto.subtle.importKey('raw', utf8(code), 'HKDF', false, ['deriveBits', 'deriveKey']);
  const name = await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: utf8(LABEL), info: utf8('pipe name') }, secret, 128);
  return { pipeName: hex(new Uint8Array(name)), secret };
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** The connection's key and the key check its header carries, both from the code and the salt. */
async function connectionKeys(call: SealedCall, salt: Uint8Array<ArrayBuffer>): Promise<{ key: SecretKey; check: Uint8Array<ArrayBuffer> }> {
  const [key, check] = await Promise.all([
    crypto.subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt, info: utf8(RECORD_KEY_INFO) }, call.secret, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']),
    crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info: utf8(KEY_CHECK_INFO) }, call.secret, CHECK_BYTES * 8),
  ]);
  return { key, check: new Uint8Array(check) };
}

/** The 96-bit nonce of record `counter`: four zero bytes, then the counter, big-endian. */
export function recordNonce(counter: number): Uint8Array<ArrayBuffer> {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setBigUint64(4, BigInt(counter));
  return nonce;
}

/** Associated data of record `counter`: the connection's header, then the counter (8 bytes, big-endian). */
export function recordAad(header: Uint8Array, counter: number): Uint8Array<ArrayBuffer> {
  const aad = new Uint8Array(header.length + 8);
  aad.set(header);
  new DataView(aad.buffer).setBigUint64(header.length, BigInt(counter));
  return aad;
}

/**
 * Seals one connection's stream: a fresh random salt (so a key, and with it a nonce, is never used on
 * two connections), the header before the first record, then one record per `seal()`. Records come out
 * in the order `seal()` was called.
 */
export class Sealer {
  readonly #keys: Promise<{ key: SecretKey; header: Uint8Array<ArrayBuffer> }>;
  #counter = 0;

  constructor(call: SealedCall, salt: Uint8Array<ArrayBuffer> = crypto.getRandomValues(new Uint8Array(SALT_BYTES))) {
    this.#keys = connectionKeys(call, salt).then(({ key, check }) => {
      const header = new Uint8Array(HEADER_BYTES);
      header.set(SEALED_MAGIC);
      header.set(salt, SEALED_MAGIC.length);
      header.set(check, SEALED_MAGIC.length + SALT_BYTES);
      return { key, header };
    });
  }

  /** The bytes for `plaintext` (one or more whole Ogg pages): its record, after the header on the first. */
  async seal(plaintext: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
    if (plaintext.length > MAX_PLAINTEXT_BYTES) throw new RangeError(`a record carries at most ${MAX_PLAINTEXT_BYTES} bytes`);
    // The counter is taken now, before any await: the order of the calls is the order of the records.
    const counter = this.#counter++;
    const { key, header } = await this.#keys;
    const sealed = new Uint8Array(
      await crypto.subtle.encrypt({ name: 'AES-GCM', iv: recordNonce(counter), additionalData: recordAad(header, counter), tagLength: TAG_BYTES * 8 }, key, copy(plaintext)),
    );
    const lead = counter === 0 ? header.length : 0;
    const out = new Uint8Array(lead + LENGTH_BYTES + sealed.length);
    if (counter === 0) out.set(header);
    new DataView(out.buffer).setUint32(lead, sealed.length);
    out.set(sealed, lead + LENGTH_BYTES);
    return out;
  }
}

/** Why a sealed stream cannot be played. */
export type SealFailure =
  /** The bytes do not start with a sealed header: a plain stream, an error page, another format. */
  | 'not-sealed'
  /** The header's key check does not match: the talker used another code. */
  | 'wrong-code'
  /** A record failed authentication, or the framing is broken: changed, dropped, reordered or replayed. */
  | 'tampered';

export class SealError extends Error {
  override readonly name = 'SealError';
  readonly failure: SealFailure;

  constructor(failure: SealFailure, message: string) {
    super(message);
    this.failure = failure;
  }
}

/** The failures of an opener, one place for their words (the CLI's node:crypto opener says the same). */
export const sealErrors = {
  notSealed: () => new SealError('not-sealed', 'the stream is not a sealed call'),
  wrongCode: () => new SealError('wrong-code', 'the talker sealed this call with another code'),
  impossibleLength: (counter: number) => new SealError('tampered', `record ${counter} has an impossible length: the stream was changed`),
  unauthentic: (counter: number) => new SealError('tampered', `record ${counter} failed authentication: the stream was changed, reordered or cut in the middle`),
};

/**
 * Opens one connection's sealed stream, bytes in as they come, whole plaintexts out. Nothing comes out
 * that did not authenticate; after a failure every push fails. Push one chunk at a time (await each).
 */
export class Unsealer {
  readonly #call: SealedCall;
  #pending: Uint8Array = new Uint8Array(0);
  #keys: { key: SecretKey; header: Uint8Array<ArrayBuffer> } | null = null;
  #counter = 0;
  #failed: SealError | null = null;

  constructor(call: SealedCall) {
    this.#call = call;
  }

  /** Records opened so far on this connection. */
  get records(): number {
    return this.#counter;
  }

  async push(chunk: Uint8Array): Promise<Uint8Array[]> {
    if (this.#failed !== null) throw this.#failed;
    try {
      return await this.#push(chunk);
    } catch (error) {
      if (error instanceof SealError) this.#failed = error;
      throw error;
    }
  }

  /** The stream ended: bytes left over are a cut record (not a failure of authentication; the caller decides). */
  get partial(): boolean {
    return this.#pending.length > 0;
  }

  async #push(chunk: Uint8Array): Promise<Uint8Array[]> {
    this.#pending = concat(this.#pending, chunk);
    const out: Uint8Array[] = [];
    if (this.#keys === null) {
      const seen = Math.min(this.#pending.length, SEALED_MAGIC.length);
      if (!SEALED_MAGIC.subarray(0, seen).every((byte, i) => this.#pending[i] === byte)) throw sealErrors.notSealed();
      if (this.#pending.length < HEADER_BYTES) return out;
      const header = this.#pending.slice(0, HEADER_BYTES);
      const salt = header.slice(SEALED_MAGIC.length, SEALED_MAGIC.length + SALT_BYTES);
      const { key, check } = await connectionKeys(this.#call, salt);
      if (!equal(check, header.subarray(SEALED_MAGIC.length + SALT_BYTES))) throw sealErrors.wrongCode();
      this.#keys = { key, header };
      this.#pending = this.#pending.subarray(HEADER_BYTES);
    }
    const { key, header } = this.#keys;
    while (this.#pending.length >= LENGTH_BYTES) {
      const length = new DataView(this.#pending.buffer, this.#pending.byteOffset, LENGTH_BYTES).getUint32(0);
      if (length < TAG_BYTES || length > MAX_PLAINTEXT_BYTES + TAG_BYTES) throw sealErrors.impossibleLength(this.#counter);
      if (this.#pending.length < LENGTH_BYTES + length) break;
      const sealed = this.#pending.slice(LENGTH_BYTES, LENGTH_BYTES + length);
      const counter = this.#counter;
      let plaintext: ArrayBuffer;
      try {
        plaintext = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: recordNonce(counter), additionalData: recordAad(header, counter), tagLength: TAG_BYTES * 8 }, key, sealed);
      } catch {
        throw sealErrors.unauthentic(counter);
      }
      this.#counter += 1;
      this.#pending = this.#pending.subarray(LENGTH_BYTES + length);
      out.push(new Uint8Array(plaintext));
    }
    return out;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** A copy on its own ArrayBuffer (WebCrypto's BufferSource; a Node Buffer may share a pool). */
function copy(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i += 1) difference |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return difference === 0;
}
