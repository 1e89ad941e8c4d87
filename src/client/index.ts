export { generatePipeName, GENERATED_NAME_BITS } from './names.js';
export { resolveServer, pipeUrl, PUBLIC_SERVER, BadServerError, BadNameError } from './server.js';
export { dialDownload, dialUpload, dialUrl, newSession, beforeGo, RelayStatus, type Download, type Upload, type DialOptions, type UploadOptions } from './request.js';
export { PipeError, type PipeErrorKind, connectFailure, refusal } from './errors.js';
export { redials, type Attempt, type RedialOptions } from './redial.js';
export { type BackoffPolicy, DEFAULT_BACKOFF } from './backoff.js';
export { DEFAULT_WAIT_SECONDS } from './timing.js';
