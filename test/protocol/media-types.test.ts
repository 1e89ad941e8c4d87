import assert from 'node:assert/strict';
import test from 'node:test';
import { audioContainer, mediaEssence } from '../../src/wire.js';

test('mediaEssence: type/subtype in lower case without parameters; none or empty is application/octet-stream', () => {
  const rows: [string | undefined, string][] = [
    ['audio/ogg', 'audio/ogg'],
    ['Audio/OGG; codecs=opus', 'audio/ogg'],
    ['  audio/webm ;codecs=opus', 'audio/webm'],
    [undefined, 'application/octet-stream'],
    ['', 'application/octet-stream'],
    [';charset=utf-8', 'application/octet-stream'],
  ];
  for (const [type, essence] of rows) assert.equal(mediaEssence(type), essence, String(type));
});

test('audioContainer: what listen can play (Ogg, WebM, and untyped bytes read as Ogg); everything else is not audio', () => {
  const rows: [string | undefined, 'ogg' | 'webm' | null][] = [
    ['audio/ogg', 'ogg'],
    ['audio/ogg; codecs=opus', 'ogg'],
    ['application/ogg', 'ogg'],
    ['Audio/Opus', 'ogg'],
    ['application/octet-stream', 'ogg'],
    [undefined, 'ogg'],
    ['audio/webm', 'webm'],
    ['audio/webm;codecs=opus', 'webm'],
    ['Video/WebM', 'webm'],
    ['audio/x-matroska', 'webm'],
    ['text/html', null],
    ['text/plain', null],
    ['application/json', null],
    ['audio/mpeg', null],
  ];
  for (const [type, container] of rows) assert.equal(audioContainer(type), container, String(type));
});
