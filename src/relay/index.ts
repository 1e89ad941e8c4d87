export { createRelay, serverOptions, type Relay } from './server.js';
export { DEFAULT_RELAY_OPTIONS, resolveRelayOptions, type RelayOptions, type ResolvedRelayOptions } from './options.js';
export { parseTarget, pipeNameProblem, PIPE_PREFIX, MAX_NAME_LENGTH, type Target } from './target.js';
