/**
 * The HTTP headers hoodycall's client and relay agree on, beyond the plain pipe that curl and
 * piping-server speak. Both are optional: without them a pipe behaves as it always did.
 */

/**
 * A caller's own random id for one call, sent on every dial of it. A dial that brings the id of a
 * connection the relay still holds replaces that connection: after a link drops without a FIN, the
 * old one looks alive until TCP gives up, and would answer 409 for minutes.
 */
export const SESSION_HEADER = 'hoodycall-session';

/** On a session sender's 200: the relay writes it a line every this many ms while the pipe streams. */
export const HEARTBEAT_HEADER = 'hoodycall-heartbeat-ms';
