/**
 * A silent Opus packet of a given length: what `--mute` sends instead of the microphone. Sending
 * silence (rather than nothing) keeps the stream's clock, the listener's catch-up and every player
 * of the raw URL going as if nothing changed, and costs 3 bytes a frame.
 *
 * The packet is one CELT-only fullband frame (TOC configs 28–31 = 2.5/5/10/20 ms, mono, code 0)
 * whose payload 0xFF 0xFE decodes the CELT "silence" flag; checked with ffmpeg's libopus decoder
 * (peak −inf dBFS) in test/audio/opus-silence.test.ts.
 */
const CELT_FULLBAND_CONFIG: ReadonlyMap<number, number> = new Map([
  [120, 28],
  [240, 29],
  [480, 30],
  [960, 31],
]);

const SILENT_CELT_PAYLOAD = [0xff, 0xfe] as const;

/** A silent packet lasting `samples` (48 kHz), or null when no single CELT frame has that length. */
export function silentOpusPacket(samples: number): Buffer | null {
  const config = CELT_FULLBAND_CONFIG.get(samples);
  if (config !== undefined) return Buffer.from([config << 3, ...SILENT_CELT_PAYLOAD]);
  // 40 and 60 ms packets: two or three 20 ms frames of equal size (code 1, or code 3 with a count).
  if (samples === 1920) return Buffer.from([(31 << 3) | 1, ...SILENT_CELT_PAYLOAD, ...SILENT_CELT_PAYLOAD]);
  if (samples === 2880) return Buffer.from([(31 << 3) | 3, 3, ...SILENT_CELT_PAYLOAD, ...SILENT_CELT_PAYLOAD, ...SILENT_CELT_PAYLOAD]);
  return null;
}
