/**
 * Talking from the page: getUserMedia → Opus → a WebSocket that the relay bridges into an ordinary
 * pipe sender (PUT side). A fetch() upload cannot stream over HTTP/1.1 in Chromium, a WebSocket can.
 * Preferred: WebCodecs AudioEncoder (20 ms Opus frames) muxed here into Ogg pages, one packet per
 * page, exactly what `hoodycall talk` sends, so `hoodycall listen`, `curl | mpv` and other pages play
 * it. Fallback where AudioEncoder or MediaStreamTrackProcessor is missing: MediaRecorder's WebM/Opus.
 */
import { FLAG_BOS, FLAG_EOS, OggWriter, opusHead, opusTags } from './ogg.js';
import { Sealer, type SealedCall } from './sealed.js';

export type TalkEnd =
  | { kind: 'done' }
  | { kind: 'refused'; reason: string }
  | { kind: 'cut'; reason: string }
  | { kind: 'left' };

export interface TalkHooks {
  /** The relay reported a listener: audio flows from now on. */
  connected(mode: 'ogg' | 'webm'): void;
}

/** Opus's usual encoder delay at 48 kHz (libopus lookahead), the OpusHead pre-skip. */
const PRE_SKIP = 312;
const BITRATE = 32_000;
/** A talker behind a slow link drops audio rather than building a backlog the listener would hear late. */
const MAX_BUFFERED_BYTES = 64 * 1024;

interface TrackProcessorConstructor {
  new (init: { track: MediaStreamTrack }): { readable: ReadableStream<AudioData> };
}

function trackProcessor(): TrackProcessorConstructor | undefined {
  // Chromium's MediaStreamTrackProcessor is not in TypeScript's DOM library yet.
  const candidate = (globalThis as { MediaStreamTrackProcessor?: TrackProcessorConstructor }).MediaStreamTrackProcessor;
  return typeof candidate === 'function' ? candidate : undefined;
}

export function oggTalkAvailable(): boolean {
  return typeof AudioEncoder === 'function' && trackProcessor() !== undefined;
}

export function talkAvailable(): boolean {
  return typeof navigator.mediaDevices?.getUserMedia === 'function' && (oggTalkAvailable() || typeof MediaRecorder === 'function');
}

/**
 * Talks into `wsUrl` until `signal` aborts (hang up: the stream ends cleanly, close 1000) or the relay
 * ends it. Mic capture starts at once (so the permission prompt comes with the click); audio is sent
 * only once a listener is there, so a late listener hears the call live, not a backlog.
 */
export async function talk(wsUrl: string, signal: AbortSignal, hooks: TalkHooks, sealed?: SealedCall): Promise<TalkEnd> {
  // The sealed format carries Ogg pages: MediaRecorder's WebM cannot be cut into records.
  if (sealed !== undefined && !oggTalkAvailable()) return { kind: 'refused', reason: 'a sealed call needs WebCodecs (AudioEncoder), which this browser lacks' };
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
  } catch (error) {
    return { kind: 'refused', reason: `no microphone: ${error instanceof Error ? error.message : String(error)}` };
  }
  const [track] = stream.getAudioTracks();
  if (track === undefined) return { kind: 'refused', reason: 'no microphone track' };
  const ogg = oggTalkAvailable();
  const socket = new WebSocket(wsUrl, [sealed !== undefined ? 'hoodycall.sealed' : ogg ? 'hoodycall.ogg' : 'hoodycall.webm']);
  socket.binaryType = 'arraybuffer';
  // One connection, one salt: a new talk (a new WebSocket) makes a new Sealer.
  const session = ogg ? oggSession(track, socket, sealed === undefined ? undefined : new Sealer(sealed)) : webmSession(stream, socket);
  let lastLine = '';
  let connected = false;
  return new Promise<TalkEnd>((resolve) => {
    let settled = false;
    const finish = (end: TalkEnd): void => {
      if (settled) return;
      settled = true;
      track.stop();
      session.stop();
      resolve(end);
    };
    socket.addEventListener('message', (event) => {
      if (typeof event.data !== 'string') return;
      lastLine = event.data.trim();
      if (!connected && lastLine.startsWith('[INFO] connected')) {
        connected = true;
        session.start();
        hooks.connected(ogg ? 'ogg' : 'webm');
      }
    });
    socket.addEventListener('close', (event) => {
      const reason = lastLine.replace(/^\[(ERROR|INFO)\] /, '') || event.reason || `connection closed (${event.code})`;
      if (signal.aborted) finish({ kind: 'left' });
      else if (event.code === 1000) finish({ kind: 'done' });
      else if (!connected) finish({ kind: 'refused', reason });
      else finish({ kind: 'cut', reason });
    });
    signal.addEventListener(
      'abort',
      () => {
        if (!connected || socket.readyState !== WebSocket.OPEN) {
          socket.close(1000);
          return;
        }
        // Hang up: the encoder's last frames and the end-of-stream page go out, then a clean close.
        void session.finish().then(() => socket.close(1000, 'hung up'));
      },
      { once: true },
    );
  });
}

interface Session {
  start(): void;
  finish(): Promise<void>;
  stop(): void;
}

function send(socket: WebSocket, bytes: Uint8Array | Blob): void {
  if (socket.readyState !== WebSocket.OPEN) return;
  if (socket.bufferedAmount > MAX_BUFFERED_BYTES) return;
  socket.send(bytes);
}

/**
 * Sends Ogg pages, sealed when `sealer` is given. A page that the socket's backlog refuses is dropped
 * before it is sealed (a dropped record would break the counter the listener checks); sealed records
 * go out in the order they were sealed. `flushed()` settles when everything asked for is sent.
 */
function pageSender(socket: WebSocket, sealer: Sealer | undefined): { send(page: Uint8Array): void; flushed(): Promise<void> } {
  let queue = Promise.resolve();
  return {
    send(page) {
      if (sealer === undefined) return send(socket, page);
      if (socket.readyState !== WebSocket.OPEN || socket.bufferedAmount > MAX_BUFFERED_BYTES) return;
      const record = sealer.seal(page);
      queue = queue.then(() => record).then(
        (bytes) => {
          if (socket.readyState === WebSocket.OPEN) socket.send(bytes);
        },
        () => socket.close(4000, 'sealing failed'),
      );
    },
    flushed: () => queue,
  };
}

function oggSession(track: MediaStreamTrack, socket: WebSocket, sealer?: Sealer): Session {
  const pages = pageSender(socket, sealer);
  const Processor = trackProcessor();
  if (Processor === undefined) throw new Error('MediaStreamTrackProcessor is missing');
  const reader = new Processor({ track }).readable.getReader();
  const writer = new OggWriter(crypto.getRandomValues(new Uint32Array(1))[0] ?? 1);
  let granule = BigInt(PRE_SKIP);
  let last: Uint8Array | undefined;
  let encoder: AudioEncoder | undefined;
  let sending = false;
  let stopped = false;

  // Pages lag one packet behind, so that the last one can carry the end-of-stream flag.
  const output = (chunk: EncodedAudioChunk): void => {
    const data = new Uint8Array(chunk.byteLength);
    chunk.copyTo(data);
    if (last !== undefined) pages.send(writer.page(last, granule));
    granule += BigInt(Math.round(((chunk.duration ?? 20_000) * 48_000) / 1_000_000));
    last = data;
  };

  const pump = async (): Promise<void> => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done || stopped) return value?.close();
      if (!sending) {
        value.close();
        continue;
      }
      if (encoder === undefined) {
        encoder = new AudioEncoder({ output, error: () => socket.close(4000, 'encoder failed') });
        encoder.configure({
          codec: 'opus',
          sampleRate: value.sampleRate,
          numberOfChannels: 1,
          bitrate: BITRATE,
          opus: { frameDuration: 20_000 },
        });
        pages.send(writer.page(opusHead({ channels: 1, preSkip: PRE_SKIP, inputSampleRate: value.sampleRate }), 0n, FLAG_BOS));
        pages.send(writer.page(opusTags('hoodycall page'), 0n));
      }
      encoder.encode(value);
      value.close();
    }
  };
  void pump().catch(() => undefined);

  return {
    start: () => (sending = true),
    async finish() {
      stopped = true;
      if (encoder !== undefined && encoder.state === 'configured') await encoder.flush().catch(() => undefined);
      if (last !== undefined) pages.send(writer.page(last, granule, FLAG_EOS));
      last = undefined;
      await pages.flushed();
    },
    stop() {
      stopped = true;
      void reader.cancel().catch(() => undefined);
      if (encoder !== undefined && encoder.state !== 'closed') encoder.close();
    },
  };
}

function webmSession(stream: MediaStream, socket: WebSocket): Session {
  const recorder = new MediaRecorder(stream, { mimeType: 'audio/webm;codecs=opus', audioBitsPerSecond: BITRATE });
  recorder.addEventListener('dataavailable', (event) => {
    if (event.data.size > 0) send(socket, event.data);
  });
  return {
    // Small slices: MediaRecorder otherwise holds audio for seconds before handing any over.
    start: () => recorder.start(20),
    finish: () =>
      new Promise<void>((resolve) => {
        if (recorder.state === 'inactive') return resolve();
        // The last dataavailable comes before stop; a tick later it has been queued on the socket.
        recorder.addEventListener('stop', () => setTimeout(resolve, 0), { once: true });
        recorder.stop();
      }),
    stop: () => {
      if (recorder.state !== 'inactive') recorder.stop();
    },
  };
}
