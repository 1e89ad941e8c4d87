/**
 * Sealed calls, as the CLI uses them. The format's one implementation is src/browser/sealed.ts, which
 * the relay also serves to the page as it is (WebCrypto only, no Node imports).
 */
export * from '../browser/sealed.js';
