/**
 * Listening in the page. The one GET of the pipe is made here: the page never lets the browser's own
 * media loader near a one-shot pipe (its first request would consume the call; see the relay's
 * navigation rule). Preferred path: fetch + streaming reader + Ogg reader + WebCodecs AudioDecoder +
 * Web Audio scheduling, which starts ~0.3 s after the click and plays at the network's delay. Where
 * WebCodecs is missing, an `<audio>` element plays the URL (it buffers ~5 s first); a WebM stream
 * (a MediaRecorder talker) goes through Media Source Extensions.
 */
import { isOpusHead, isOpusTags, OggReader, opusPacketSamples, parseOpusHead } from './ogg.js';
import { SealError, type SealedCall, type SealFailure, Unsealer } from './sealed.js';

export type ListenEnd =
  | { kind: 'ended' }
  /** A sealed call's stream could not be authenticated: nothing after the failure was played. */
  | { kind: 'unauthenticated'; failure: SealFailure; reason: string }
  | { kind: 'cut'; reason: string }
  | { kind: 'refused'; status: number; reason: string }
  | { kind: 'left' };

export interface ListenHooks {
  /** The talker is there: sound follows. */
  connected(mode: 'webcodecs' | 'mse' | 'element'): void;
}

/** Scheduling lead: what the page holds in hand against network jitter. */
const START_LEAD_S = 0.06;
/** Each underrun (a packet came too late to be played on time) adds this much lead, up to the cap. */
const LEAD_STEP_S = 0.02;
const MAX_LEAD_S = 0.3;
/** Audio queued beyond lead + this is dropped, so a burst after a stall does not become lasting delay. */
const CATCH_UP_SLACK_S = 0.1;

export interface PlayerStats {
  packets: number;
  underruns: number;
  dropped: number;
  /** Seconds of audio handed to Web Audio. */
  scheduledSeconds: number;
  leadSeconds: number;
}

export const stats: PlayerStats = { packets: 0, underruns: 0, dropped: 0, scheduledSeconds: 0, leadSeconds: START_LEAD_S };

export function webCodecsAvailable(): boolean {
  return typeof AudioDecoder === 'function' && typeof EncodedAudioChunk === 'function';
}

/** Plays `url` into `output` until the call ends; `signal` aborts (the listener left). */
export async function listen(url: string, output: AudioNode, signal: AbortSignal, hooks: ListenHooks, sealed?: SealedCall): Promise<ListenEnd> {
  if (sealed !== undefined && !webCodecsAvailable()) return { kind: 'cut', reason: 'a sealed call needs WebCodecs, which this browser lacks' };
  if (!webCodecsAvailable()) return listenWithElement(url, output, signal, hooks);
  let response: Response;
  try {
    response = await fetch(url, { cache: 'no-store', signal });
  } catch (error) {
    return signal.aborted ? { kind: 'left' } : { kind: 'cut', reason: describe(error) };
  }
  if (response.status !== 200 || response.body === null) {
    return { kind: 'refused', status: response.status, reason: (await response.text().catch(() => '')).replace(/^\[ERROR\] /, '').trim() };
  }
  const type = (response.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const reader = response.body.getReader();
  // Sealed: the stream's own header decides what it is, whatever type a relay gave it.
  if (sealed === undefined && (type === 'audio/webm' || type === 'video/webm')) return playWithMediaSource(reader, output, signal, hooks);
  hooks.connected('webcodecs');
  return playOgg(reader, output, signal, sealed === undefined ? undefined : new Unsealer(sealed));
}

/** The Ogg bytes of `chunk`: itself, or for a sealed call what its records open to (none before a record is whole). */
async function opened(chunk: Uint8Array, unsealer: Unsealer | undefined): Promise<Uint8Array[]> {
  return unsealer === undefined ? [chunk] : unsealer.push(chunk);
}

async function playOgg(reader: ReadableStreamDefaultReader<Uint8Array<ArrayBuffer>>, output: AudioNode, signal: AbortSignal, unsealer?: Unsealer): Promise<ListenEnd> {
  const context = output.context as AudioContext;
  const ogg = new OggReader();
  let decoder: AudioDecoder | undefined;
  let decodeError: string | undefined;
  let timestamp = 0;
  let nextTime = 0;
  let preSkip = 0;

  const schedule = (data: AudioData): void => {
    const channels = data.numberOfChannels;
    const frames = data.numberOfFrames;
    const skip = Math.min(preSkip, frames);
    preSkip -= skip;
    if (frames - skip <= 0) return data.close();
    const buffer = context.createBuffer(channels, frames - skip, data.sampleRate);
    for (let channel = 0; channel < channels; channel++) {
      const plane = new Float32Array(frames);
      data.copyTo(plane, { planeIndex: channel, format: 'f32-planar' });
      buffer.copyToChannel(plane.subarray(skip), channel);
    }
    data.close();
    const now = context.currentTime;
    if (nextTime < now) {
      // Too late to play seamlessly: start again a little further ahead, and keep more in hand.
      if (nextTime !== 0) {
        stats.underruns += 1;
        stats.leadSeconds = Math.min(MAX_LEAD_S, stats.leadSeconds + LEAD_STEP_S);
      }
      nextTime = now + stats.leadSeconds;
    } else if (nextTime - now > stats.leadSeconds + CATCH_UP_SLACK_S) {
      stats.dropped += 1;
      return;
    }
    const source = new AudioBufferSourceNode(context, { buffer });
    source.connect(output);
    source.start(nextTime);
    nextTime += buffer.duration;
    stats.scheduledSeconds += buffer.duration;
  };

  try {
    const end = await eachChunk(reader, signal, async (chunk) => {
      let pages: Uint8Array[];
      try {
        pages = await opened(chunk, unsealer);
      } catch (error) {
        if (!(error instanceof SealError)) throw error;
        void reader.cancel().catch(() => undefined);
        return { kind: 'unauthenticated', failure: error.failure, reason: error.message };
      }
      for (const packet of pages.flatMap((bytes) => ogg.push(bytes))) {
        if (isOpusHead(packet.data)) {
          // A new logical stream (first, or a talker that came back): a fresh decoder with its header.
          if (decoder !== undefined && decoder.state !== 'closed') decoder.close();
          const head = parseOpusHead(packet.data);
          preSkip = head.preSkip;
          decoder = new AudioDecoder({ output: schedule, error: (error) => (decodeError = describe(error)) });
          decoder.configure({ codec: 'opus', sampleRate: 48_000, numberOfChannels: head.channels, description: packet.data });
          continue;
        }
        if (isOpusTags(packet.data) || decoder === undefined || decoder.state !== 'configured') continue;
        const samples = opusPacketSamples(packet.data);
        decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp, duration: (samples / 48) * 1000, data: packet.data }));
        timestamp += (samples / 48) * 1000;
        stats.packets += 1;
      }
      return decodeError === undefined ? undefined : { kind: 'cut', reason: `the audio could not be decoded: ${decodeError}` };
    });
    if (end.kind === 'ended' && decoder !== undefined && decoder.state === 'configured') await decoder.flush().catch(() => undefined);
    return end;
  } finally {
    if (decoder !== undefined && decoder.state !== 'closed') decoder.close();
  }
}

/**
 * Reads a response body to its end, chunk by chunk, until `onChunk` returns an end of its own.
 * Hanging up (`signal`) cancels the read: that is "left", any other read failure "cut".
 */
async function eachChunk(
  reader: ReadableStreamDefaultReader<Uint8Array<ArrayBuffer>>,
  signal: AbortSignal,
  onChunk: (chunk: Uint8Array<ArrayBuffer>) => ListenEnd | undefined | Promise<ListenEnd | undefined>,
): Promise<ListenEnd> {
  const onAbort = (): void => void reader.cancel().catch(() => undefined);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array<ArrayBuffer>>;
      try {
        chunk = await reader.read();
      } catch (error) {
        return signal.aborted ? { kind: 'left' } : { kind: 'cut', reason: describe(error) };
      }
      if (chunk.done) return signal.aborted ? { kind: 'left' } : { kind: 'ended' };
      const end = await onChunk(chunk.value);
      if (end !== undefined) return end;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** WebM/Opus (a MediaRecorder talker): Media Source Extensions feed an `<audio>` from the same response. */
async function playWithMediaSource(
  reader: ReadableStreamDefaultReader<Uint8Array<ArrayBuffer>>,
  output: AudioNode,
  signal: AbortSignal,
  hooks: ListenHooks,
): Promise<ListenEnd> {
  const mime = 'audio/webm; codecs="opus"';
  if (typeof MediaSource !== 'function' || !MediaSource.isTypeSupported(mime)) {
    await reader.cancel();
    return { kind: 'cut', reason: 'this browser cannot play WebM audio from a stream' };
  }
  const source = new MediaSource();
  const audio = attachElement(URL.createObjectURL(source), output);
  await new Promise((resolve) => source.addEventListener('sourceopen', resolve, { once: true }));
  const buffer = source.addSourceBuffer(mime);
  buffer.mode = 'sequence';
  hooks.connected('mse');
  try {
    const end = await eachChunk(reader, signal, async (chunk) => {
      if (buffer.updating) await new Promise((resolve) => buffer.addEventListener('updateend', resolve, { once: true }));
      buffer.appendBuffer(chunk);
      await new Promise((resolve) => buffer.addEventListener('updateend', resolve, { once: true }));
      // Live: stay near the newest audio rather than the element's comfortable buffer.
      const newest = buffer.buffered.length > 0 ? buffer.buffered.end(buffer.buffered.length - 1) : 0;
      if (newest - audio.currentTime > 1) audio.currentTime = newest - 0.3;
      if (audio.paused) void audio.play().catch(() => undefined);
      return undefined;
    });
    if (end.kind === 'ended' && source.readyState === 'open') source.endOfStream();
    return end;
  } finally {
    audio.pause();
  }
}

/** No WebCodecs: the element makes the one GET. It cannot tell a refusal's reason, only that it failed. */
async function listenWithElement(url: string, output: AudioNode, signal: AbortSignal, hooks: ListenHooks): Promise<ListenEnd> {
  const audio = attachElement(url, output);
  return new Promise<ListenEnd>((resolve) => {
    const finish = (end: ListenEnd): void => {
      audio.pause();
      audio.removeAttribute('src');
      audio.load();
      resolve(end);
    };
    audio.addEventListener('playing', () => hooks.connected('element'), { once: true });
    audio.addEventListener('ended', () => finish({ kind: 'ended' }), { once: true });
    audio.addEventListener('error', () => finish({ kind: 'cut', reason: 'the stream failed or was refused' }), { once: true });
    signal.addEventListener('abort', () => finish({ kind: 'left' }), { once: true });
    void audio.play().catch(() => undefined);
  });
}

/** An `<audio>` whose sound goes through `output` (the page's analyser), so levels and tests see it. */
function attachElement(src: string, output: AudioNode): HTMLAudioElement {
  const audio = new Audio();
  // CORS mode: without it a cross-origin element's samples read as zeroes in Web Audio.
  audio.crossOrigin = 'anonymous';
  audio.preload = 'none';
  audio.src = src;
  const context = output.context as AudioContext;
  context.createMediaElementSource(audio).connect(output);
  return audio;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
