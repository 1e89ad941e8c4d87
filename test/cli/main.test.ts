import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import test from 'node:test';
import { runCli } from '../helpers/cli.js';

test('--version is the package\'s own version', async (t) => {
  const { version } = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  const cli = runCli(t, ['--version']);
  assert.equal((await cli.exited).code, 0);
  assert.equal(cli.stdout().trim(), version);
});

test('a bad command line is one line and exit 2', async (t) => {
  const cli = runCli(t, ['talk', '--bitrate', 'lots']);
  assert.equal((await cli.exited).code, 2);
  assert.match(cli.stderr(), /^hoodycall: option '--bitrate <kbps>' argument 'lots' is invalid/);
  assert.equal(cli.stderr().trim().split('\n').length, 1);
});
