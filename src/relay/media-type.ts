/**
 * What a receiver is told the bytes are. The sender chooses its Content-Type, and a receiver may be a
 * browser that renders what it gets on the relay's origin (an <object> or <embed> on another site's
 * page, an old browser without Fetch Metadata): so only types a browser plays or shows as inert text are
 * passed on, rebuilt from a strict parse, never copied as text. A list (`text/plain, text/html`: browsers
 * use the last), a malformed value or any other type becomes application/octet-stream; other text types
 * (HTML, XML, XSL, scripts, CSS…) become text/plain.
 */

export interface MediaType {
  readonly type: string;
  readonly subtype: string;
  readonly parameters: readonly (readonly [string, string])[];
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const OCTET_STREAM = 'application/octet-stream';
/** A value longer than this is not a media type anyone needs (codecs lists are short). */
const MAX_LENGTH = 256;

/** Reads a quoted-string starting at `at` (the opening quote); returns its value and the index after it. */
function quoted(text: string, at: number): [string, number] | undefined {
  let value = '';
  for (let i = at + 1; i < text.length; i++) {
    const char = text[i] ?? '';
    if (char === '"') return [value, i + 1];
    if (char === '\\') {
      i += 1;
      if (i >= text.length) return undefined;
      value += text[i];
    } else if (/[\t\x20-\x7e]/.test(char)) value += char;
    else return undefined;
  }
  return undefined;
}

/** RFC 9110 §8.3.1: `type "/" subtype *( OWS ";" OWS [ name "=" ( token / quoted-string ) ] )`, strictly. */
export function parseMediaType(value: string): MediaType | undefined {
  if (value.length > MAX_LENGTH) return undefined;
  const text = value.trim();
  const semicolon = text.indexOf(';');
  const essence = semicolon === -1 ? text : text.slice(0, semicolon).trimEnd();
  const slash = essence.indexOf('/');
  const type = essence.slice(0, slash).toLowerCase();
  const subtype = essence.slice(slash + 1).toLowerCase();
  if (slash === -1 || !TOKEN.test(type) || !TOKEN.test(subtype)) return undefined;
  const parameters: [string, string][] = [];
  let i = semicolon === -1 ? text.length : semicolon;
  while (i < text.length) {
    // At a ';'. Skip it and optional whitespace; an empty parameter (`;;`) is allowed by the grammar.
    i += 1;
    while (text[i] === ' ' || text[i] === '\t') i += 1;
    if (i >= text.length || text[i] === ';') continue;
    const eq = text.indexOf('=', i);
    if (eq === -1) return undefined;
    const name = text.slice(i, eq).toLowerCase();
    if (!TOKEN.test(name)) return undefined;
    let parameterValue: string;
    if (text[eq + 1] === '"') {
      const read = quoted(text, eq + 1);
      if (read === undefined) return undefined;
      [parameterValue, i] = read;
    } else {
      const end = text.indexOf(';', eq + 1);
      parameterValue = text.slice(eq + 1, end === -1 ? text.length : end).trimEnd();
      if (!TOKEN.test(parameterValue)) return undefined;
      i = end === -1 ? text.length : end;
    }
    parameters.push([name, parameterValue]);
    while (text[i] === ' ' || text[i] === '\t') i += 1;
    if (i < text.length && text[i] !== ';') return undefined;
  }
  return { type, subtype, parameters };
}

function formatParameter([name, value]: readonly [string, string]): string {
  return TOKEN.test(value) ? `${name}=${value}` : `${name}="${value.replace(/["\\]/g, '\\$&')}"`;
}

function format(essence: string, parameters: readonly (readonly [string, string])[]): string {
  return [essence, ...parameters.map(formatParameter)].join('; ');
}

/** Types a browser plays, saves or shows as plain text, and never runs. */
function isPassed(type: string, subtype: string): boolean {
  return (
    type === 'audio' ||
    type === 'video' ||
    // A sealed call (src/browser/sealed.ts): bytes no browser renders, named so a receiver knows what it holds.
    (type === 'application' && (subtype === 'octet-stream' || subtype === 'ogg' || subtype === 'vnd.hoodycall.sealed+ogg')) ||
    (type === 'text' && subtype === 'plain')
  );
}

/** Types that are text to a person but may be code to a browser: shown as text/plain instead. */
function isTextual(type: string, subtype: string): boolean {
  return (
    type === 'text' ||
    subtype === 'xml' ||
    subtype.endsWith('+xml') ||
    subtype === 'json' ||
    subtype.endsWith('+json') ||
    subtype.includes('javascript') ||
    subtype.includes('ecmascript')
  );
}

/** The Content-Type a receiver gets for the sender's `Content-Type` header (absent: octet-stream). */
export function receiverContentType(sent: string | undefined): string {
  if (sent === undefined || sent.trim() === '') return OCTET_STREAM;
  const parsed = parseMediaType(sent);
  if (parsed === undefined) return OCTET_STREAM;
  const { type, subtype, parameters } = parsed;
  if (isPassed(type, subtype)) {
    const kept = type === 'text' ? parameters.filter(([name]) => name === 'charset') : parameters;
    return format(`${type}/${subtype}`, kept);
  }
  if (isTextual(type, subtype)) return format('text/plain', parameters.filter(([name]) => name === 'charset'));
  return OCTET_STREAM;
}

/**
 * The Content-Disposition a receiver gets: always `attachment`, so a browser that was made to open the
 * bytes as a document saves them instead of rendering them (media elements and fetch() ignore it). A
 * plain file name the sender gave is kept; anything else it put there is dropped.
 */
export function receiverDisposition(sent: string | undefined): string {
  const name = sent === undefined ? undefined : /(?:^|;)\s*filename\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]+)/i.exec(sent)?.[1];
  const plain = name?.startsWith('"') === true ? name.slice(1, -1).replace(/\\(.)/g, '$1') : name;
  return plain !== undefined && /^[A-Za-z0-9._ ()+-]{1,128}$/.test(plain) && !/^\.+$/.test(plain)
    ? `attachment; filename="${plain}"`
    : 'attachment';
}
