/**
 * The test harness leaves no relay behind when a test process is killed (at a file's --test-timeout,
 * `t.after` never runs): helpers/cli.ts hands every CLI child's pid to a reaper that outlives the
 * test process by the time it takes to notice its pipe closing.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startServe } from '../helpers/cli.js';

const FIXTURE_ENV = 'HOODYCALL_REAPER_FIXTURE';

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

if (process.env[FIXTURE_ENV] === '1') {
  // The victim: starts a relay, says its pid, and waits to be killed.
  test('a test process that starts a relay and is killed', async (t) => {
    const serve = await startServe(t, ['--host', '127.0.0.1', '--port', '0']);
    process.stdout.write(`relay pid ${serve.child.pid}\n`);
    await new Promise(() => undefined);
  });
} else {
  test('a relay started by a test process that is SIGKILLed does not outlive it', async (t) => {
    const victim = spawn(process.execPath, [fileURLToPath(import.meta.url)], { env: { ...process.env, [FIXTURE_ENV]: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => victim.kill('SIGKILL'));
    let out = '';
    victim.stdout.setEncoding('utf8');
    const pid = await new Promise<number>((resolve, reject) => {
      victim.stdout.on('data', (chunk: string) => {
        out += chunk;
        const match = /relay pid (\d+)/.exec(out);
        if (match !== null) resolve(Number(match[1]));
      });
      victim.once('exit', () => reject(new Error(`the victim exited before its relay started: ${out}`)));
    });
    assert.match(cmdline(pid), /hoodycall/, 'the relay runs');
    victim.kill('SIGKILL');
    await once(victim, 'exit');
    const deadline = Date.now() + 5_000;
    while (cmdline(pid).includes('hoodycall')) {
      if (Date.now() > deadline) {
        process.kill(pid, 'SIGKILL');
        assert.fail('the relay was still running 5 s after its test process was killed');
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
}
