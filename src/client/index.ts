export { generatePipeName, GENERATED_NAME_BITS } from './names.js';
export { resolveServer, pipeUrl, PUBLIC_SERVER, BadServerError, BadNameError } from './server.js';
export { openUpload, openDownload, newSession, type PipeRequest, type PipeRequestOptions } from './request.js';
export { PipeError, type PipeErrorKind, connectFailure, refusal } from './errors.js';
