import { PIPE_PREFIX, pipeNameProblem } from '../wire.js';

/** The public pipe, used when neither `--server` nor HOODYCALL_SERVER says otherwise. */
export const PUBLIC_SERVER = 'https://pipe.containers.hoody.com';

export class BadServerError extends Error {
  override readonly name = 'BadServerError';
}

export class BadNameError extends Error {
  override readonly name = 'BadNameError';
}

/** `--server`, then HOODYCALL_SERVER, then the public pipe; must be an http(s) URL. */
export function resolveServer(flag: string | undefined, env: NodeJS.ProcessEnv): URL {
  const text = flag ?? env['HOODYCALL_SERVER'] ?? PUBLIC_SERVER;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new BadServerError(`the server "${text}" is not a URL; expected e.g. http://host:8080`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new BadServerError(`the server must be an http:// or https:// URL, got ${url.protocol}`);
  }
  return url;
}

/** The URL of a pipe on a server, which may itself live under a path (`https://host/relay`). */
export function pipeUrl(server: URL, name: string): URL {
  const problem = pipeNameProblem(name);
  if (problem !== undefined) throw new BadNameError(problem);
  const base = server.href.endsWith('/') ? server.href : `${server.href}/`;
  return new URL(`${PIPE_PREFIX.slice(1)}${name}`, base);
}
