/**
 * What hoodycall's client, relay and page agree on, in one place: pipe names, headers and query
 * parameters, media types, and how every relay dialect speaks to a sender and refuses a request.
 * Each part lives in src/protocol/; import from here.
 */
export * from './protocol/names.js';
export * from './protocol/headers.js';
export * from './protocol/media-types.js';
export * from './protocol/relay-lines.js';
export * from './protocol/refusals.js';
export * from './protocol/sealed.js';
