/**
 * The one reading of a Content-Type: its essence (type/subtype, lower case, no parameters) and what
 * the call does with it. The relay forwards the sender's type; listen, the page and the relay's
 * safety rules all decide by the essence.
 */

/** `audio/ogg; codecs=opus` → `audio/ogg`; a missing or empty type → `application/octet-stream` (RFC 9110 §8.3). */
export function mediaEssence(contentType: string | undefined): string {
  const essence = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return essence === '' ? 'application/octet-stream' : essence;
}

export type AudioContainer = 'ogg' | 'webm';

/**
 * The container of a stream a listener can play, or null for what is not audio (an HTML error page,
 * a JSON answer, a relay's text). `application/octet-stream` is what a plain `curl -T` sends: it is
 * taken as Ogg and the Ogg reader then decides.
 */
export function audioContainer(contentType: string | undefined): AudioContainer | null {
  const essence = mediaEssence(contentType);
  if (essence === 'audio/webm' || essence === 'video/webm' || essence === 'audio/x-matroska') return 'webm';
  if (essence === 'audio/ogg' || essence === 'application/ogg' || essence === 'audio/opus' || essence === 'application/octet-stream') return 'ogg';
  // Other audio types (audio/mpeg, audio/wav …): ffmpeg's Ogg reader would fail on them obscurely.
  return null;
}

/** What a talker sends. */
export const OGG_OPUS = 'audio/ogg';
