/**
 * The page's wiring: which name, the Listen / Talk / Hang up buttons, the status lines with elapsed
 * time, a level meter. Sound needs a click: Chromium never autoplays a live stream with sound, so
 * the page waits for the Listen button. State is mirrored on <body data-listen data-talk> and on
 * `window.hoodycall` for tests and benchmarks.
 */
import { listen, stats, webCodecsAvailable, type ListenEnd } from './player.js';
import { isSecretCode, openCode, type SealedCall } from './sealed.js';
import { oggTalkAvailable, talk, talkAvailable, type TalkEnd } from './talker.js';
import { PIPE_PREFIX, pipeNameProblem } from '../protocol/names.js';

type ListenState = 'idle' | 'waiting' | 'listening' | 'ended' | 'cut' | 'refused' | 'unauthenticated';
type TalkState = 'idle' | 'waiting' | 'talking' | 'ended' | 'cut' | 'refused';

interface PageApi {
  listenState: ListenState;
  talkState: TalkState;
  listenMode: string;
  talkMode: string;
  context: AudioContext | undefined;
  /** The node every played sound passes through before the speakers (an AnalyserNode). */
  output: AnalyserNode | undefined;
  stats: typeof stats;
}

declare global {
  interface Window {
    hoodycall: PageApi;
  }
}

const api: PageApi = { listenState: 'idle', talkState: 'idle', listenMode: '', talkMode: '', context: undefined, output: undefined, stats };
window.hoodycall = api;

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`the page lacks #${id}`);
  return found as T;
}

const nameInput = element<HTMLInputElement>('name');
const listenButton = element<HTMLButtonElement>('listen');
const talkButton = element<HTMLButtonElement>('talk');
const hangUpButton = element<HTMLButtonElement>('hangup');
const listenStatus = element<HTMLElement>('listen-status');
const talkStatus = element<HTMLElement>('talk-status');
const meter = element<HTMLMeterElement>('level');
const note = element<HTMLElement>('note');

/** The relay's root as seen from this page (the page may be served under a path prefix). */
const root = new URL(document.querySelector<HTMLMetaElement>('meta[name="hoodycall-root"]')?.content ?? '/', location.href);

/** `#100%` (a link cut short) is not percent-encoding: no name, rather than a page whose script died. */
function decodedOrEmpty(fragment: string): string {
  try {
    return decodeURIComponent(fragment);
  } catch {
    return '';
  }
}

/** The name comes from the pipe URL this page answers, else from #NAME or ?name=NAME. */
function initialName(): { name: string; query: string } {
  const at = location.pathname.indexOf(PIPE_PREFIX);
  if (at !== -1) return { name: location.pathname.slice(at + PIPE_PREFIX.length), query: location.search };
  const fromHash = decodedOrEmpty(location.hash.slice(1));
  const fromQuery = new URLSearchParams(location.search).get('name') ?? '';
  return { name: fromHash || fromQuery, query: '' };
}

const initial = initialName();
nameInput.value = initial.name;
let query = initial.query;
nameInput.addEventListener('input', () => (query = ''));

function currentName(): string | undefined {
  const name = nameInput.value.trim();
  // The relay's own rule (src/protocol/names.ts), so the page never dials a name the relay refuses.
  const problem = pipeNameProblem(name);
  if (problem === undefined) return name;
  note.textContent = `Not a call name: ${problem}.`;
  return undefined;
}

/**
 * A sealed call's code (from the fragment, which the browser never sends, or typed in) opens to the
 * pipe the relay sees and the keys; a plain name is the pipe itself. WebCrypto needs a secure page.
 */
async function callOf(name: string): Promise<{ pipe: string; sealed?: SealedCall } | { problem: string }> {
  if (!isSecretCode(name)) return { pipe: name };
  if (globalThis.crypto?.subtle === undefined) return { problem: 'A sealed call needs a secure page (https or localhost) for its encryption.' };
  const sealed = await openCode(name);
  return { pipe: sealed.pipeName, sealed };
}

function pipeUrl(name: string, scheme: 'http' | 'ws'): string {
  const url = new URL(`api/v1/pipe/${name}${query}`, root);
  if (scheme === 'ws') url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

function clock(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

/** One status line that shows elapsed time while a state lasts. */
function ticker(target: HTMLElement): { show(text: string, timed?: boolean): void; since(): number } {
  let startedAt = Date.now();
  let timer: number | undefined;
  return {
    show(text, timed = false) {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      startedAt = Date.now();
      target.textContent = text;
      if (!timed) return;
      const update = (): void => void (target.textContent = `${text} ${clock(Date.now() - startedAt)}`);
      update();
      timer = window.setInterval(update, 500);
    },
    since: () => Date.now() - startedAt,
  };
}

const listenLine = ticker(listenStatus);
const talkLine = ticker(talkStatus);

function setListen(state: ListenState): void {
  api.listenState = state;
  document.body.dataset['listen'] = state;
}

function setTalk(state: TalkState): void {
  api.talkState = state;
  document.body.dataset['talk'] = state;
}

/** The Web Audio graph, made on the first click (an AudioContext made earlier starts suspended). */
function audioOutput(): AnalyserNode {
  if (api.output !== undefined) return api.output;
  const context = new AudioContext({ latencyHint: 'interactive', sampleRate: 48_000 });
  const analyser = new AnalyserNode(context, { fftSize: 4096, smoothingTimeConstant: 0 });
  analyser.connect(context.destination);
  api.context = context;
  api.output = analyser;
  const samples = new Float32Array(analyser.fftSize);
  const draw = (): void => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const sample of samples) sum += sample * sample;
    meter.value = Math.min(1, Math.sqrt(sum / samples.length) * 4);
    requestAnimationFrame(draw);
  };
  requestAnimationFrame(draw);
  return analyser;
}

let activity: AbortController | undefined;

function busy(on: boolean): void {
  listenButton.disabled = on;
  talkButton.disabled = on || !talkAvailable();
  nameInput.disabled = on;
  hangUpButton.hidden = !on;
}

function refusalText(status: number, reason: string): string {
  switch (status) {
    case 409:
      return 'Someone is already listening on this name. If it is not who you expect, the name has leaked: hang up.';
    case 408:
      return 'Nobody started talking in time.';
    default:
      return reason === '' ? `The relay refused (${status}).` : `The relay refused: ${reason}.`;
  }
}

listenButton.addEventListener('click', () => {
  const name = currentName();
  if (name === undefined) return;
  const output = audioOutput();
  void (output.context as AudioContext).resume();
  const signal = (activity = new AbortController()).signal;
  busy(true);
  setListen('waiting');
  listenLine.show('Waiting for the talker…', true);
  history.replaceState(null, '', location.pathname.includes(PIPE_PREFIX) ? location.href : `#${name}`);
  void callOf(name).then((call): Promise<ListenEnd> => {
    if ('problem' in call) return Promise.resolve({ kind: 'cut', reason: call.problem });
    return listen(pipeUrl(call.pipe, 'http'), output, signal, {
      connected(mode) {
        api.listenMode = mode;
        setListen('listening');
        listenLine.show(call.sealed === undefined ? 'Listening' : 'Listening (sealed)', true);
      },
    }, call.sealed);
  }).then((end: ListenEnd) => {
    const after = clock(listenLine.since());
    busy(false);
    switch (end.kind) {
      case 'ended':
        setListen('ended');
        listenLine.show(`Call ended: the talker hung up after ${after}.`);
        break;
      case 'left':
        setListen('ended');
        listenLine.show(`You left after ${after}.`);
        break;
      case 'cut':
        setListen('cut');
        listenLine.show(`The call was cut off after ${after} (${end.reason}).`);
        break;
      case 'refused':
        setListen('refused');
        listenLine.show(refusalText(end.status, end.reason));
        break;
      case 'unauthenticated':
        setListen('unauthenticated');
        listenLine.show(`The sealed call could not be authenticated after ${after}: ${end.reason}. Nothing after it was played.`);
        break;
    }
  });
});

talkButton.addEventListener('click', () => {
  const name = currentName();
  if (name === undefined) return;
  const signal = (activity = new AbortController()).signal;
  busy(true);
  setTalk('waiting');
  talkLine.show('Waiting for a listener…', true);
  void callOf(name).then((call): Promise<TalkEnd> => {
    if ('problem' in call) return Promise.resolve({ kind: 'refused', reason: call.problem });
    return talk(pipeUrl(call.pipe, 'ws'), signal, {
      connected(mode) {
        api.talkMode = mode;
        setTalk('talking');
        talkLine.show(call.sealed === undefined ? 'Talking' : 'Talking (sealed)', true);
      },
    }, call.sealed);
  }).then((end: TalkEnd) => {
    const after = clock(talkLine.since());
    busy(false);
    switch (end.kind) {
      case 'done':
      case 'left':
        setTalk('ended');
        talkLine.show(`You hung up after ${after}.`);
        break;
      case 'cut':
        setTalk('cut');
        talkLine.show(`The call ended after ${after}: ${end.reason}.`);
        break;
      case 'refused':
        setTalk('refused');
        talkLine.show(`Could not talk: ${end.reason}.`);
        break;
    }
  });
});

hangUpButton.addEventListener('click', () => activity?.abort());

setListen('idle');
setTalk('idle');
busy(false);
listenLine.show(nameInput.value === '' ? 'Enter the call name, then press Listen.' : 'Press Listen to hear the call.');
talkLine.show(talkAvailable() ? '' : 'Talking needs a microphone and a secure page (https or localhost).');
if (!webCodecsAvailable()) note.textContent = 'This browser lacks WebCodecs: playback uses <audio> and runs a few seconds behind.';
else if (talkAvailable() && !oggTalkAvailable()) note.textContent = 'Talking sends WebM (MediaRecorder).';
