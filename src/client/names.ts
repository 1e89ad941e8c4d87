import { randomBytes } from 'node:crypto';

/** Crockford's base32: no I, L, O or U, so a name read aloud or typed from a screen survives. */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const GROUPS = 4;
const GROUP_LENGTH = 4;

/**
 * A name a stranger cannot guess: 80 bits from the OS's CSPRNG, as four groups of four characters
 * (`k7m2-9qxd-4ftz-8wnb`). At a million guesses a second, finding one live call takes ~10^10 years;
 * the relay's per-address limits make guessing far slower than that.
 */
export function generatePipeName(): string {
  const bits = GROUPS * GROUP_LENGTH * 5;
  const bytes = randomBytes(bits / 8);
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  const characters: string[] = [];
  for (let i = 0; i < GROUPS * GROUP_LENGTH; i += 1) {
    characters.push(ALPHABET[Number(value & 31n)] ?? '0');
    value >>= 5n;
  }
  const groups: string[] = [];
  for (let i = 0; i < GROUPS; i += 1) groups.push(characters.slice(i * GROUP_LENGTH, (i + 1) * GROUP_LENGTH).join(''));
  return groups.join('-');
}

export const GENERATED_NAME_BITS = GROUPS * GROUP_LENGTH * 5;
