import assert from 'node:assert/strict';
import test from 'node:test';
import { callShareLines, holdText, listenerOptions, opusOf, sealableWhere, serverFlag, shareLines, startsMuted, talkerOptions, waitOf, where } from '../../src/cli/plan.js';
import { CliError } from '../../src/cli/exit-codes.js';
import { generateCode, openCode } from '../../src/wire.js';
import { BadNameError, BadServerError } from '../../src/client/index.js';

const name = (): string => 'gen0-gen1-gen2-gen3';

test('where: --server, then HOODYCALL_SERVER, then the public pipe; a name given or made up', () => {
  const rows: [string | undefined, string | undefined, string | undefined, string, string, boolean][] = [
    // [name, --server, env, server, pipe URL, generated]
    ['x', 'http://relay:8080', 'http://env', 'http://relay:8080/', 'http://relay:8080/api/v1/pipe/x', false],
    ['x', undefined, 'http://env:1', 'http://env:1/', 'http://env:1/api/v1/pipe/x', false],
    [undefined, undefined, undefined, 'https://pipe.containers.hoody.com/', 'https://pipe.containers.hoody.com/api/v1/pipe/gen0-gen1-gen2-gen3', true],
    ['room/a', 'https://host/relay/', undefined, 'https://host/relay/', 'https://host/relay/api/v1/pipe/room/a', false],
  ];
  for (const [given, server, env, base, url, generated] of rows) {
    const at = where(given, { server }, env === undefined ? {} : { HOODYCALL_SERVER: env }, name);
    assert.deepEqual([at.server.href, at.url.href, at.generated], [base, url, generated], `${given} ${server} ${env}`);
  }
  assert.throws(() => where('x', { server: 'ftp://x' }, {}), BadServerError);
  assert.throws(() => where('../x', { server: 'http://x' }, {}), BadNameError);
});

test('flags to options', () => {
  assert.deepEqual(opusOf({ bitrate: 24 }), { bitrateKbps: 24, lowLatency: false });
  assert.deepEqual(opusOf({ lowLatency: true }), { lowLatency: true });
  assert.deepEqual([startsMuted({}), startsMuted({ mute: true }), startsMuted({ pushToTalk: true })], [false, true, true]);
  assert.deepEqual([waitOf({}), waitOf({ wait: 60 })], [300, 60]);
  assert.deepEqual([holdText(300), holdText(90), holdText(3600)], ['5 min', '90 s', '60 min']);
});

test('a talking and a listening side from their flags: talk, listen and call build them the same way', () => {
  const pipe = { url: new URL('http://relay/api/v1/pipe/room/a'), name: 'room/a' };
  const signal = new AbortController().signal;
  const device = { kind: 'device', backend: 'pulse' } as const;
  const file = { kind: 'file', path: 'a.wav' } as const;
  const rows: [Parameters<typeof talkerOptions>[0], typeof device | typeof file, boolean, { reconnect: boolean; waitSeconds: number; meter: boolean; lowLatency: boolean }][] = [
    [{}, device, true, { reconnect: true, waitSeconds: 300, meter: true, lowLatency: false }],
    [{ reconnect: false, wait: 30, lowLatency: true }, device, true, { reconnect: false, waitSeconds: 30, meter: true, lowLatency: true }],
    [{}, device, false, { reconnect: true, waitSeconds: 300, meter: false, lowLatency: false }],
    [{}, file, true, { reconnect: true, waitSeconds: 300, meter: false, lowLatency: false }],
  ];
  for (const [flags, source, live, expected] of rows) {
    const options = talkerOptions(flags, { ffmpegPath: '/ff', source, stdinAudio: undefined }, pipe, signal, live);
    assert.deepEqual(
      { reconnect: options.reconnect, waitSeconds: options.waitSeconds, meter: options.meter, lowLatency: options.opus.lowLatency },
      expected,
      JSON.stringify([flags, source.kind, live]),
    );
    assert.equal(options.url, pipe.url);
    assert.equal(options.signal, signal);
  }
  const target = { kind: 'wav', path: '-' } as const;
  const listenRows: [Parameters<typeof listenerOptions>[0], { decoderStdout: string; reconnect: boolean; maxDelayMs: number | null | undefined }][] = [
    [{}, { decoderStdout: 'ignore', reconnect: true, maxDelayMs: 1000 }],
    [{ output: '-', maxDelay: 0, reconnect: false }, { decoderStdout: 'inherit', reconnect: false, maxDelayMs: 0 }],
    [{ output: 'x.wav', maxDelay: 250 }, { decoderStdout: 'ignore', reconnect: true, maxDelayMs: 250 }],
  ];
  for (const [flags, expected] of listenRows) {
    const options = listenerOptions(flags, { ffmpegPath: '/ff', target }, pipe, signal);
    assert.deepEqual({ decoderStdout: options.decoderStdout, reconnect: options.reconnect, maxDelayMs: options.maxDelayMs }, expected, JSON.stringify(flags));
  }
});

test('share lines: what the other side runs, --server only when it is not the public pipe', () => {
  const at = where('k7m2', { server: 'http://relay:8080' }, {});
  assert.equal(
    shareLines(at),
    'The other side runs one of:\n  hoodycall listen k7m2 --server http://relay:8080\n  curl -sN http://relay:8080/api/v1/pipe/k7m2 | mpv --no-video -\n  or opens http://relay:8080/#k7m2 in a browser and presses Listen\n',
  );
  assert.equal(serverFlag(new URL('https://pipe.containers.hoody.com')), '');
});

test('sealableWhere: a code as NAME seals the call, --secret alone makes one, --secret with a pipe name is a usage error; plain names stay plain', async () => {
  const code = generateCode();
  const env = {};
  const given = await sealableWhere(code.toUpperCase(), { server: 'http://relay:8080' }, env);
  assert.equal(given.secret?.code, code);
  assert.equal(given.name, (await openCode(code)).pipeName);
  assert.equal(given.url.href, `http://relay:8080/api/v1/pipe/${given.name}`);
  assert.equal(given.generated, false);
  const made = await sealableWhere(undefined, { server: 'http://relay:8080', secret: true }, env, name, () => code);
  assert.equal(made.generated, true);
  assert.equal(made.name, given.name);
  const plain = await sealableWhere('x', { server: 'http://relay:8080' }, env);
  assert.equal(plain.secret, undefined);
  assert.equal(plain.name, 'x');
  await assert.rejects(sealableWhere('x', { secret: true }, env), (error) => error instanceof CliError && error.exitCode === 2);
  // A mistyped code (an o for a 0, a group short) is a usage error, never a plain call named like it.
  for (const typo of [`${code.slice(0, -1)}o`, code.slice(0, -1)]) {
    await assert.rejects(sealableWhere(typo, {}, env), (error) => error instanceof CliError && error.exitCode === 2 && /not a whole sealed call code/.test(error.message), typo);
  }
  const lines = shareLines(made);
  assert.match(lines, new RegExp(`hoodycall listen ${code} --server http://relay:8080`));
  assert.match(lines, new RegExp(`http://relay:8080/#${code} in a browser`));
  assert.match(lines, /plain player cannot play/);
  assert.doesNotMatch(lines, new RegExp(made.name), 'the relay-side name is not what people share');
  assert.match(callShareLines(made), new RegExp(`hoodycall call ${code} --server`));
});
