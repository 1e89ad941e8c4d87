/**
 * The HTTP headers and query parameters hoodycall's client and relay agree on, beyond the plain pipe
 * that curl and piping-server speak. All are optional: without them a pipe behaves as it always did.
 */

/**
 * A caller's own random id for one call, sent on every dial of it. A dial that brings the id of a
 * connection the relay still holds replaces that connection: after a link drops without a FIN, the
 * old one looks alive until TCP gives up, and would answer 409 for minutes.
 */
export const SESSION_HEADER = 'hoodycall-session';

/** What a session id looks like; the client makes 128-bit base64url ids (22 characters). */
export const SESSION_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

/** On a session sender's 200: the relay writes it a line every this many ms while the pipe streams. */
export const HEARTBEAT_HEADER = 'hoodycall-heartbeat-ms';

/**
 * `?wait=SECONDS`: how long this side may wait for the other. The hosted pipe reads it (1–3600,
 * default 300) and so does hoodycall's relay (up to its own `--hold`); piping-server ignores it, and
 * the client's own timer then keeps the same bound (client/timing.ts).
 */
export const WAIT_PARAM = 'wait';
export const MAX_WAIT_SECONDS = 3_600;
