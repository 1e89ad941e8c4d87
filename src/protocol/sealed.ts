/**
 * Sealed calls, as the CLI uses them. The format is defined in src/browser/sealed.ts, which the relay
 * also serves to the page as it is (WebCrypto only, no Node imports); the CLI's records go through
 * node:crypto in src/session/node-sealer.ts, byte for byte the same.
 */
export * from '../browser/sealed.js';
