import assert from 'node:assert/strict';
import test from 'node:test';
import { reasonText, REFUSAL_RULES, refusalKind, type RefusalKind } from '../../src/wire.js';

/** Refusals as each relay words them: status, body, and what the client makes of it. One test per row of REFUSAL_RULES. */
const ROWS: readonly { readonly row: number; readonly cases: readonly [status: number, body: string, from: string][] }[] = [
  { row: 0, cases: [[409, '[ERROR] this pipe already has a sender\n', 'hoodycall'], [409, '[ERROR] this pipe already has a receiver\n', 'hoodycall'], [409, '', 'a bare 409']] },
  {
    row: 1,
    cases: [
      [400, "[ERROR] Another sender has been connected on '/api/v1/pipe/room/a'.\n", 'piping-server'],
      [400, "[ERROR] Connection on '/api/v1/pipe/x' has been established already.\n", 'piping-server'],
      [400, '[ERROR] The number of receivers has reached limits.\n', 'piping-server'],
      [400, '[ERROR] A transfer is already active on this path.\n', 'hosted'],
      [400, '[ERROR] A sender is already attached to this path.\n', 'hosted'],
      [400, '[ERROR] All receiver slots on this path are taken.\n', 'hosted'],
    ],
  },
  {
    row: 2,
    cases: [
      [400, '[ERROR] The number of receivers should be 2 but 1.\n', 'piping-server'],
      [400, '[ERROR] n mismatch: this path expects n=2.\n', 'hosted'],
      [400, '[ERROR] this pipe was opened with n=2; every side must give the same n\n', 'hoodycall'],
    ],
  },
  { row: 3, cases: [[408, '[ERROR] no sender connected within 300 s\n', 'hoodycall'], [408, '[ERROR] Timed out waiting for sender.\n', 'hosted']] },
  { row: 4, cases: [[429, '[ERROR] your address holds its limit of 32 pipe ends; close some first\n', 'hoodycall'], [429, '[ERROR] Too many pending transfers.\n', 'hosted']] },
  { row: 5, cases: [[503, '[ERROR] the relay is shutting down\n', 'hoodycall']] },
  { row: 6, cases: [[404, 'Not Found', 'a web server']] },
  { row: 7, cases: [[405, '[ERROR] Method DELETE is not allowed.\n', 'hosted']] },
  { row: 8, cases: [[301, '', 'http to https'], [307, '', 'another host']] },
];

for (const { row, cases } of ROWS) {
  const rule = REFUSAL_RULES[row];
  assert.ok(rule !== undefined);
  test(`refusal row ${row} (${rule.kind}: ${rule.seenFrom})`, () => {
    for (const [status, body, from] of cases) assert.equal(refusalKind(status, body), rule.kind, `${from}: ${status} ${JSON.stringify(body)}`);
  });
}

test('every row of REFUSAL_RULES has its test above', () => {
  assert.deepEqual(ROWS.map(({ row }) => row), REFUSAL_RULES.map((_rule, index) => index));
});

test('anything else is a plain refusal: bad names, bad queries, pipelined requests, server errors', () => {
  const others: [number, string][] = [
    [400, "[ERROR] the pipe name may only contain A-Z a-z 0-9 . _ ~ - (and '/' between parts)\n"],
    [400, '[ERROR] wait must be from 1 to 3600 seconds.\n'],
    [400, '[ERROR] a pipe side needs its own connection, not a pipelined request\n'],
    [414, '[ERROR] Path too long (max 1024 characters).\n'],
    [500, 'Internal Server Error'],
  ];
  for (const [status, body] of others) assert.equal<RefusalKind>(refusalKind(status, body), 'refused', body);
});

test('reasonText: the reason after [ERROR], one line, no control characters, bounded', () => {
  assert.equal(reasonText('[ERROR] this pipe already has a sender\n'), 'this pipe already has a sender');
  assert.equal(reasonText('<html>\n<h1>Bad Gateway</h1>'), '<html>');
  assert.equal(reasonText('[ERROR] \u001b[2J\u001b[31mred\u0007 text\r\n'), '[2J[31mred text');
  assert.ok(reasonText(`[ERROR] ${'x'.repeat(5_000)}`).length <= 201);
});
