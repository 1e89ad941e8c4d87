import test from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  discoverFfmpeg,
  FFMPEG_ENV,
  FfmpegMissingError,
  FfmpegNotFoundError,
  findOnPath,
  importFfmpegStatic,
  isExecutableFile,
  installHint,
  type DiscoverOptions,
} from '../../src/audio/ffmpeg.js';

/** A temp tree: bin1/ffmpeg, bin2/ffmpeg, static/ffmpeg (all executable), empty/, plain/ffmpeg (not executable). */
async function tree(t: test.TestContext): Promise<Record<'root' | 'bin1' | 'bin2' | 'static' | 'empty' | 'plain', string>> {
  const root = await mkdtemp(path.join(tmpdir(), 'hc-discover-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dirs = { root, bin1: path.join(root, 'bin1'), bin2: path.join(root, 'bin2'), static: path.join(root, 'static'), empty: path.join(root, 'empty'), plain: path.join(root, 'plain') };
  for (const dir of [dirs.bin1, dirs.bin2, dirs.static, dirs.empty, dirs.plain]) await mkdir(dir);
  for (const dir of [dirs.bin1, dirs.bin2, dirs.static]) {
    await writeFile(path.join(dir, 'ffmpeg'), '#!/bin/sh\nexit 0\n');
    await chmod(path.join(dir, 'ffmpeg'), 0o755);
  }
  await writeFile(path.join(dirs.plain, 'ffmpeg'), 'not executable');
  await chmod(path.join(dirs.plain, 'ffmpeg'), 0o644);
  return dirs;
}

const noStatic = (): Promise<string | null> => Promise.resolve(null);

function options(extra: DiscoverOptions): DiscoverOptions {
  return { platform: 'linux', ffmpegStatic: noStatic, ...extra };
}

test('explicit path wins over the env var, ffmpeg-static and PATH', async (t) => {
  const d = await tree(t);
  const found = await discoverFfmpeg(options({
    explicitPath: path.join(d.bin2, 'ffmpeg'),
    env: { [FFMPEG_ENV]: path.join(d.bin1, 'ffmpeg'), PATH: d.bin1 },
    ffmpegStatic: () => Promise.resolve(path.join(d.static, 'ffmpeg')),
  }));
  assert.deepEqual(found, { path: path.join(d.bin2, 'ffmpeg'), source: 'option' });
});

test('explicit path: relative to cwd, or a bare command name looked up on PATH', async (t) => {
  const d = await tree(t);
  assert.deepEqual(await discoverFfmpeg(options({ explicitPath: './bin2/ffmpeg', cwd: d.root, env: {} })), { path: path.join(d.bin2, 'ffmpeg'), source: 'option' });
  assert.deepEqual(await discoverFfmpeg(options({ explicitPath: 'ffmpeg', env: { PATH: d.bin2 } })), { path: path.join(d.bin2, 'ffmpeg'), source: 'option' });
  await assert.rejects(discoverFfmpeg(options({ explicitPath: 'ffmpeg7', env: { PATH: d.bin2 } })), /--ffmpeg not usable: ffmpeg7 is not on PATH/);
});

test('an explicit path that is not a usable file is an error, never a fallback', async (t) => {
  const d = await tree(t);
  const env = { PATH: d.bin1 };
  const cases: Array<[string, RegExp]> = [
    [path.join(d.root, 'nope', 'ffmpeg'), /does not exist/],
    [d.bin1, /is not a file/],
    [path.join(d.plain, 'ffmpeg'), /is not executable/],
  ];
  for (const [explicitPath, reason] of cases) {
    await assert.rejects(discoverFfmpeg(options({ explicitPath, env })), (error: unknown) => {
      assert.ok(error instanceof FfmpegNotFoundError, String(error));
      assert.equal(error.source, 'option');
      assert.equal(error.requested, explicitPath);
      assert.match(error.message, /^ffmpeg from --ffmpeg not usable: /);
      assert.match(error.message, reason);
      assert.ok(!error.message.includes('\n'));
      return true;
    });
  }
});

test('the env var wins over ffmpeg-static and PATH; a bad one is an error; an empty one is unset', async (t) => {
  const d = await tree(t);
  const staticLookup = (): Promise<string> => Promise.resolve(path.join(d.static, 'ffmpeg'));
  assert.deepEqual(
    await discoverFfmpeg(options({ env: { [FFMPEG_ENV]: path.join(d.bin2, 'ffmpeg'), PATH: d.bin1 }, ffmpegStatic: staticLookup })),
    { path: path.join(d.bin2, 'ffmpeg'), source: 'env' },
  );
  await assert.rejects(
    discoverFfmpeg(options({ env: { [FFMPEG_ENV]: path.join(d.empty, 'ffmpeg'), PATH: d.bin1 } })),
    (error: unknown) => error instanceof FfmpegNotFoundError && error.source === 'env' && /^ffmpeg from \$HOODYCALL_FFMPEG not usable: .* does not exist$/.test(error.message),
  );
  assert.deepEqual(await discoverFfmpeg(options({ env: { [FFMPEG_ENV]: '', PATH: d.bin1 } })), { path: path.join(d.bin1, 'ffmpeg'), source: 'path' });
});

test('ffmpeg-static: used when its binary exists, skipped when its download failed or it throws', async (t) => {
  const d = await tree(t);
  const env = { PATH: d.bin1 };
  assert.deepEqual(
    await discoverFfmpeg(options({ env, ffmpegStatic: () => Promise.resolve(path.join(d.static, 'ffmpeg')) })),
    { path: path.join(d.static, 'ffmpeg'), source: 'ffmpeg-static' },
  );
  // ffmpeg-static reports its path whether or not the binary was downloaded.
  assert.deepEqual(
    await discoverFfmpeg(options({ env, ffmpegStatic: () => Promise.resolve(path.join(d.empty, 'ffmpeg')) })),
    { path: path.join(d.bin1, 'ffmpeg'), source: 'path' },
  );
  assert.deepEqual(
    await discoverFfmpeg(options({ env, ffmpegStatic: () => Promise.resolve(path.join(d.plain, 'ffmpeg')) })),
    { path: path.join(d.bin1, 'ffmpeg'), source: 'path' },
  );
  assert.deepEqual(
    await discoverFfmpeg(options({ env, ffmpegStatic: () => Promise.reject(new Error('Cannot find module')) })),
    { path: path.join(d.bin1, 'ffmpeg'), source: 'path' },
  );
});

test('the real ffmpeg-static import: its binary when that file is there (it is often not: its download fails), else PATH', async (t) => {
  const d = await tree(t);
  const imported = await importFfmpegStatic();
  assert.ok(imported === null || typeof imported === 'string');
  const usable = imported !== null && (await isExecutableFile(imported, 'linux'));
  const found = await discoverFfmpeg({ platform: 'linux', env: { PATH: d.bin1 } });
  assert.deepEqual(found, usable ? { path: imported, source: 'ffmpeg-static' } : { path: path.join(d.bin1, 'ffmpeg'), source: 'path' });
});

test('PATH: first executable match in order; empty entries and non-executables skipped', async (t) => {
  const d = await tree(t);
  const delimiter = ':';
  assert.deepEqual(await discoverFfmpeg(options({ env: { PATH: [d.empty, '', d.plain, d.bin2, d.bin1].join(delimiter) } })), { path: path.join(d.bin2, 'ffmpeg'), source: 'path' });
  assert.equal(await findOnPath('ffmpeg', { PATH: [d.bin1, d.bin2].join(delimiter) }, 'linux'), path.join(d.bin1, 'ffmpeg'));
  assert.equal(await findOnPath('ffmpeg', {}, 'linux'), null);
});

test('Windows: Path is case-insensitive, ";"-separated, quoted entries, ffmpeg.exe preferred', async (t) => {
  const d = await tree(t);
  await writeFile(path.join(d.empty, 'ffmpeg.exe'), 'MZ');
  const found = await discoverFfmpeg(options({ platform: 'win32', env: { Path: `"${d.plain}";${d.empty};${d.bin1}` } }));
  assert.deepEqual(found, { path: path.join(d.empty, 'ffmpeg.exe'), source: 'path' });
  assert.deepEqual(
    await discoverFfmpeg(options({ platform: 'win32', env: { hoodycall_ffmpeg: path.join(d.empty, 'ffmpeg.exe') } })),
    { path: path.join(d.empty, 'ffmpeg.exe'), source: 'env' },
  );
});

test('missing everywhere: FfmpegMissingError, one line with the platform install command', async (t) => {
  const d = await tree(t);
  const cases: Array<[NodeJS.Platform, string]> = [
    ['linux', 'sudo apt-get install ffmpeg'],
    ['darwin', 'brew install ffmpeg'],
    ['win32', 'winget install ffmpeg'],
  ];
  for (const [platform, command] of cases) {
    await assert.rejects(discoverFfmpeg(options({ platform, env: { PATH: d.empty } })), (error: unknown) => {
      assert.ok(error instanceof FfmpegMissingError, String(error));
      assert.ok(error.message.includes(command), error.message);
      assert.equal(error.hint, installHint(platform));
      assert.ok(!error.message.includes('\n'));
      assert.match(error.message, /^ffmpeg not found \(looked at \$HOODYCALL_FFMPEG, ffmpeg-static and PATH\); install it with: /);
      return true;
    });
  }
  await assert.rejects(discoverFfmpeg(options({ env: {} })), FfmpegMissingError);
});

test('installHint per platform', () => {
  assert.match(installHint('linux'), /^sudo apt-get install ffmpeg \(Debian\/Ubuntu; Fedora: sudo dnf install ffmpeg; Arch: sudo pacman -S ffmpeg\)$/);
  assert.equal(installHint('darwin'), 'brew install ffmpeg');
  assert.equal(installHint('win32'), 'winget install ffmpeg');
  assert.equal(installHint('freebsd'), 'pkg install ffmpeg');
  assert.match(installHint('aix'), /package manager/);
});

test('the machine running the tests: ffmpeg is found on its own PATH', async () => {
  const found = await discoverFfmpeg({ env: { PATH: process.env.PATH }, ffmpegStatic: noStatic });
  assert.equal(found.source, 'path');
  assert.match(path.basename(found.path), /^ffmpeg(\.exe)?$/);
});
