/**
 * Pipe names and where they live: the rules the relay enforces and the client checks before it
 * dials, so a bad name is a usage error at once rather than a refusal from whichever relay it meets.
 */

/** Every pipe is under this path; `/api/v1/pipe/NAME` is the same on hoodycall, piping-server and the hosted pipe. */
export const PIPE_PREFIX = '/api/v1/pipe/';
export const MAX_NAME_LENGTH = 128;

const NAME_PART = /^[A-Za-z0-9._~-]+$/;

/** Why `name` is not a valid pipe name, or undefined when it is. */
export function pipeNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'the pipe name is missing: use /api/v1/pipe/NAME';
  if (name.length > MAX_NAME_LENGTH) return `the pipe name is longer than ${MAX_NAME_LENGTH} characters`;
  for (const part of name.split('/')) {
    if (part === '') return "the pipe name has an empty part: no leading, trailing or double '/'";
    if (!NAME_PART.test(part)) return "the pipe name may only contain A-Z a-z 0-9 . _ ~ - (and '/' between parts)";
    if (part === '.' || part === '..') return "the pipe name cannot have a '.' or '..' part";
  }
  return undefined;
}
