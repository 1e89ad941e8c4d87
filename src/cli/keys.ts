/**
 * Keys for a call in a terminal: `m` toggles mute; with push-to-talk the microphone is open while
 * the space bar is held. A terminal reports no key releases, only the key's auto-repeat, so "held"
 * means "pressed again within the repeat window" (the first repeat comes after ~0.5 s on common
 * terminals).
 *
 * Raw mode stops the terminal from turning ctrl-C into SIGINT, so ctrl-C is raised here as the
 * same signal: one way out of a call, whatever the mode.
 */
const CTRL_C = 0x03;
const PTT_HOLD_MS = 700;

export interface CallKeys {
  /** Whether the microphone should be muted now. */
  readonly muted: boolean;
  stop(): void;
}

export function watchCallKeys(input: NodeJS.ReadStream, options: { pushToTalk: boolean; onChange: (muted: boolean) => void }): CallKeys | null {
  if (input.isTTY !== true) return null;
  let toggledMute = false;
  let talkingUntil = 0;
  let pttTimer: NodeJS.Timeout | undefined;
  const muted = (): boolean => toggledMute || (options.pushToTalk && Date.now() >= talkingUntil);
  const onData = (data: Buffer): void => {
    for (const byte of data) {
      if (byte === CTRL_C) process.kill(process.pid, 'SIGINT');
      else if (byte === 0x6d /* m */ || byte === 0x4d /* M */) {
        toggledMute = !toggledMute;
        options.onChange(muted());
      } else if (byte === 0x20 /* space */ && options.pushToTalk) {
        const wasMuted = muted();
        talkingUntil = Date.now() + PTT_HOLD_MS;
        clearTimeout(pttTimer);
        pttTimer = setTimeout(() => options.onChange(muted()), PTT_HOLD_MS + 10);
        if (wasMuted !== muted()) options.onChange(muted());
      }
    }
  };
  input.setRawMode(true);
  input.on('data', onData);
  input.resume();
  return {
    get muted() {
      return muted();
    },
    stop() {
      clearTimeout(pttTimer);
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
    },
  };
}
