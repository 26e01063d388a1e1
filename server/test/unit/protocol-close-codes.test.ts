// The close-code table is what docs/protocol.md shows users: every column of every row must match,
// and the reason sent in each close frame is the table's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  CloseCode,
  closeCodeTable,
  closeReason,
  type CloseCodeValue,
} from '../../src/protocol/close-codes.js';

const doc = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');

/** The rows of the "Close codes" table: code -> [reason, meaning, client should reconnect]. */
function documentedRows(): Map<number, string[]> {
  const section = doc.slice(doc.indexOf('## Close codes'));
  const rows = new Map<number, string[]>();
  for (const m of section.matchAll(/^\| (\d{4}) \|(.*)\|$/gm))
    rows.set(
      Number(m[1]),
      m[2]!.split('|').map((cell) => cell.trim()),
    );
  return rows;
}

test('docs/protocol.md shows each close code with the reason, meaning and reconnect advice of the table', () => {
  const rows = documentedRows();
  assert.deepEqual(
    [...rows.keys()],
    closeCodeTable.map((c) => c.code),
    'the same codes, in the same order',
  );
  for (const c of closeCodeTable)
    assert.deepEqual(rows.get(c.code), [c.reason, c.meaning, c.clientReconnects], `row ${c.code}`);
});

test('the close frame carries the documented reason for every code the server sends', () => {
  const rows = documentedRows();
  for (const code of Object.values(CloseCode))
    assert.equal(closeReason(code), rows.get(code)?.[0], `code ${code}`);
  assert.equal(closeReason(CloseCode.rateLimited), 'rate limit exceeded');
  assert.equal(closeReason(4999 as CloseCodeValue), '', 'a code outside the table has no reason');
});
