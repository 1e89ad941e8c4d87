import { InvalidArgumentError } from 'commander';

/** Commander argument parsers: each rejects a bad value with one line naming what is expected. */
export function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    if (!/^[0-9]+$/.test(value)) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    const parsed = Number(value);
    if (parsed < min || parsed > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    return parsed;
  };
}

/** Seconds, fractions allowed (tests use short holds), returned in milliseconds. */
export function secondsAsMs(min: number): (value: string) => number {
  return (value) => {
    if (!/^[0-9]+(\.[0-9]+)?$/.test(value) || Number(value) < min) {
      throw new InvalidArgumentError(`expected a number of seconds >= ${min}.`);
    }
    return Math.round(Number(value) * 1000);
  };
}

/** `--max-delay`'s help, for listen and call. */
export const MAX_DELAY_HELP = 'the most audio kept in hand, ms: below it a backlog plays up to 25 % faster, past it the oldest is dropped (default 1000; 0 or off: play everything as it comes)';

/** `--max-delay`: whole ms up to a minute, or 0 / off for never dropping audio (0). */
export function delayBound(value: string): number {
  // 0, not null, for off: commander turns a parser's null into ''. LiveEdge reads 0 as off.
  if (value === 'off' || value === '0') return 0;
  if (!/^[0-9]+$/.test(value) || Number(value) > 60_000) throw new InvalidArgumentError('expected whole ms from 0 to 60000, or off.');
  return Number(value);
}
