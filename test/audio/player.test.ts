/** The external player for where ffmpeg has no output device: its command line and where it is looked for. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { oggStdinInputArgs } from '../../src/audio/args.js';
import { findExternalPlayer, playerArgs } from '../../src/audio/player.js';

test('playerArgs: ffplay with the decoder\'s own input flags, no window, ends with the stream; mpv with a 20 ms buffer', () => {
  assert.deepEqual(playerArgs({ player: 'ffplay' }), ['-hide_banner', '-loglevel', 'error', '-nodisp', '-autoexit', ...oggStdinInputArgs()]);
  assert.throws(() => playerArgs({ player: 'ffplay', device: 'hw:1' }), /default output device/);
  const mpv = ['--no-video', '--no-terminal', '--cache=no', '--demuxer-lavf-format=ogg', '--demuxer-lavf-probesize=32', '--demuxer-lavf-analyzeduration=0', '--audio-buffer=0.02'];
  assert.deepEqual(playerArgs({ player: 'mpv' }), [...mpv, '-']);
  assert.deepEqual(playerArgs({ player: 'mpv', device: 'pulse/hc_spk' }), [...mpv, '--audio-device=pulse/hc_spk', '-']);
});

test('findExternalPlayer: ffplay beside ffmpeg, then ffplay on PATH, then mpv on PATH, else none', async (t) => {
  const root = await mkdtemp(path.join(tmpdir(), 'hc-player-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const install = path.join(root, 'ffmpeg-install');
  const onPath = path.join(root, 'bin');
  await mkdir(install);
  await mkdir(onPath);
  const tool = (dir: string, name: string): Promise<void> => writeFile(path.join(dir, name), '#!/bin/sh\n', { mode: 0o755 });
  const ffmpeg = path.join(install, 'ffmpeg');
  const env = { PATH: onPath };

  assert.equal(await findExternalPlayer(ffmpeg, env, 'linux'), null);
  await tool(onPath, 'mpv');
  assert.deepEqual(await findExternalPlayer(ffmpeg, env, 'linux'), { player: 'mpv', path: path.join(onPath, 'mpv') });
  await tool(onPath, 'ffplay');
  assert.deepEqual(await findExternalPlayer(ffmpeg, env, 'linux'), { player: 'ffplay', path: path.join(onPath, 'ffplay') });
  await writeFile(path.join(install, 'ffplay'), 'not executable', { mode: 0o644 });
  assert.deepEqual(await findExternalPlayer(ffmpeg, env, 'linux'), { player: 'ffplay', path: path.join(onPath, 'ffplay') }, 'a non-executable ffplay is passed over');
  await rm(path.join(install, 'ffplay'));
  await tool(install, 'ffplay');
  assert.deepEqual(await findExternalPlayer(ffmpeg, env, 'linux'), { player: 'ffplay', path: path.join(install, 'ffplay') });
  assert.equal((await findExternalPlayer('ffmpeg', { PATH: install }, 'linux'))?.path, path.join(install, 'ffplay'), 'a bare command name: ffplay found on PATH');
});
