/**
 * Debian's headless Chromium driven by playwright-core, for the browser tests. Returns null where
 * /usr/bin/chromium is missing (the test then skips), except in CI, which installs it (.ci/run): there
 * a missing browser is a failure. Screenshots go to test-artifacts/browser/ (gitignored).
 */
import { access, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env['HOODYCALL_CHROMIUM'] ?? '/usr/bin/chromium';

/** test-artifacts/ at the repository root; this file runs from dist/test/browser/. */
export const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/browser/', import.meta.url));

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--autoplay-policy=no-user-gesture-required',
  // The fake microphone emits a beep; permission prompts are answered yes.
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  // Nothing but the test's own requests: no update checks, safe browsing, metrics, sync or field trials.
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-default-apps',
  '--disable-sync',
  '--disable-domain-reliability',
  '--disable-client-side-phishing-detection',
  '--metrics-recording-only',
  '--no-first-run',
  '--no-default-browser-check',
  '--no-pings',
  '--disable-field-trial-config',
];

/**
 * `window.hoodycall` as the page exposes it (src/browser/app.ts), in the few members tests read.
 * Spelled out here because the tests compile without the DOM library.
 */
export interface PageApi {
  listenState: string;
  talkState: string;
  listenMode: string;
  talkMode: string;
  context?: { currentTime: number; sampleRate: number };
  output?: { frequencyBinCount: number; fftSize: number; getFloatFrequencyData(bins: Float32Array): void };
  stats: { packets: number; underruns: number; dropped: number; scheduledSeconds: number; leadSeconds: number };
}

/** In page functions: the page's API. */
export type PageGlobal = { hoodycall?: PageApi };

/** A fresh Chromium for one test, closed when the test ends; null (test skipped) where there is none. */
export async function launchChromium(t: TestContext): Promise<Browser | null> {
  try {
    await access(CHROMIUM);
  } catch {
    const reason = `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
    if (process.env['CI'] !== undefined) throw new Error(`the browser tests cannot run in CI: ${reason}`);
    t.skip(reason);
    return null;
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 30_000 });
  t.after(() => browser.close());
  return browser;
}

/** Saves a screenshot of the page's current state as test-artifacts/browser/NAME.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Waits until the page's `window.hoodycall[key]` is one of `states`; fails with what it was. */
export async function waitForState(page: Page, key: 'listenState' | 'talkState', states: readonly string[], timeoutMs = 15_000): Promise<string> {
  try {
    const handle = await page.waitForFunction(
      ([k, wanted]: readonly ['listenState' | 'talkState', readonly string[]]) => {
        const value = (globalThis as PageGlobal).hoodycall?.[k];
        return typeof value === 'string' && wanted.includes(value) ? value : false;
      },
      [key, states] as const,
      { timeout: timeoutMs, polling: 50 },
    );
    return (await handle.jsonValue()) as string;
  } catch (error) {
    const now = await page.evaluate((k) => String((globalThis as PageGlobal).hoodycall?.[k]), key).catch(() => '?');
    const text = await page.locator('main').innerText().catch(() => '?');
    throw new Error(`${key} never became ${states.join('|')} (it is ${now}; page says ${JSON.stringify(text)})`, { cause: error });
  }
}

/** The page's audio clock (AudioContext.currentTime) and seconds of decoded audio handed to Web Audio. */
export function audioClock(page: Page): Promise<{ time: number; scheduled: number }> {
  return page.evaluate(() => {
    const api = (globalThis as PageGlobal).hoodycall;
    return { time: api?.context?.currentTime ?? 0, scheduled: api?.stats.scheduledSeconds ?? 0 };
  });
}

/**
 * The strongest frequency in what the page is playing: the output analyser's spectrum, sampled a few
 * times (a snapshot might fall into a gap), as the bin with the most energy summed over the snapshots.
 */
export async function playedPeakHz(page: Page, snapshots = 8): Promise<{ peakHz: number; levelDb: number }> {
  return page.evaluate(async (count) => {
    const api = (globalThis as PageGlobal).hoodycall;
    const analyser = api?.output;
    const context = api?.context;
    if (analyser === undefined || context === undefined) return { peakHz: 0, levelDb: -Infinity };
    const bins = new Float32Array(analyser.frequencyBinCount);
    const sum = new Float64Array(analyser.frequencyBinCount);
    for (let i = 0; i < count; i++) {
      analyser.getFloatFrequencyData(bins);
      for (let b = 0; b < bins.length; b++) sum[b] = (sum[b] ?? 0) + 10 ** ((bins[b] ?? -200) / 10);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    let best = 1;
    for (let b = 1; b < sum.length; b++) if ((sum[b] ?? 0) > (sum[best] ?? 0)) best = b;
    return { peakHz: (best * context.sampleRate) / analyser.fftSize, levelDb: 10 * Math.log10((sum[best] ?? 0) / count) };
  }, snapshots);
}
