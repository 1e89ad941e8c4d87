import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { BIN } from '../helpers/cli.js';
import { fetchReply } from '../helpers/http.js';
import { sleep, uniqueName } from '../helpers/relay.js';

test('serve stores nothing: no file is opened for writing while pipes flow, no name or byte is logged', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'hoodycall-strace-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const traceFile = path.join(dir, 'trace');
  const child = spawn('strace', ['-f', '-qq', '-e', 'trace=open,openat,creat,rename,unlink', '-o', traceFile, process.execPath, BIN, 'serve', '--host', '127.0.0.1', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // strace does not pass signals on to the program it traces: the relay is signalled by its own pid.
  let relayPid = 0;
  t.after(() => {
    if (relayPid !== 0) process.kill(relayPid, 'SIGKILL');
    child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const deadline = Date.now() + 10_000;
  while (!/listening on (\S+)\n/.test(stdout)) {
    assert.ok(Date.now() < deadline, `serve did not start: ${stderr}`);
    await sleep(20);
  }
  const base = new URL(/listening on (\S+)\n/.exec(stdout)?.[1] ?? '');
  relayPid = Number((await execa('pgrep', ['-P', String(child.pid)])).stdout.trim());
  assert.ok(relayPid > 0, 'the relay process under strace');
  // Start-up may open files (modules, /proc for metrics); only what happens from here on counts.
  await sleep(300);
  const traceAtStart = (await readFile(traceFile, 'utf8')).split('\n').length;

  const names: string[] = [];
  const marker = `payload-marker-${randomBytes(4).toString('hex')}`;
  for (let i = 0; i < 20; i += 1) {
    const name = uniqueName('secret');
    names.push(name);
    const url = new URL(`/api/v1/pipe/${name}`, base).href;
    const receiving = fetchReply(url);
    await fetchReply(url, { method: 'PUT', body: `${marker} ${randomBytes(64 * 1024).toString('base64')}` });
    assert.equal((await receiving).status, 200);
  }
  await fetchReply(new URL('/metrics', base).href);
  const closed = new Promise((resolve) => child.once('close', resolve));
  process.kill(relayPid, 'SIGTERM');
  await closed;
  relayPid = 0;

  const calls = (await readFile(traceFile, 'utf8')).split('\n').slice(traceAtStart - 1);
  const writes = calls.filter((line) => /O_WRONLY|O_RDWR|O_CREAT|creat\(|rename\(|unlink\(/.test(line));
  assert.deepEqual(writes, [], 'files opened for writing, created, renamed or removed while pipes flowed');
  assert.ok(calls.length > 0 || traceAtStart > 1, 'strace recorded nothing at all: the check would be blind');
  const output = stdout + stderr;
  for (const name of names) assert.ok(!output.includes(name), 'a pipe name was logged');
  assert.ok(!output.includes(marker), 'payload bytes were logged');
  assert.equal(stderr.split('\n').filter((line) => line.includes(' pipe ')).length, 20, 'one access-log line per pipe');
});
