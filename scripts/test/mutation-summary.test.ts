// The mutation report's arithmetic: Stryker's score (errors left out) and the list of undetected mutants.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderReport, score, summarise, total } from '../lib/mutation/summary.js';

const at = (line: number) => ({ start: { line, column: 3 } });

test('counts per file, scores detected over valid, lists the undetected in file order', () => {
  const { files, survivors } = summarise([
    {
      fileName: 'b.ts',
      mutatorName: 'BooleanLiteral',
      replacement: 'true',
      status: 'Killed',
      location: at(1),
    },
    {
      fileName: 'a.ts',
      mutatorName: 'StringLiteral',
      replacement: '""',
      status: 'Survived',
      location: at(9),
    },
    {
      fileName: 'a.ts',
      mutatorName: 'BlockStatement',
      replacement: '{\n}',
      status: 'NoCoverage',
      location: at(2),
    },
    {
      fileName: 'a.ts',
      mutatorName: 'ArithmeticOperator',
      replacement: 'a - b',
      status: 'Timeout',
      location: at(4),
    },
    {
      fileName: 'a.ts',
      mutatorName: 'ArithmeticOperator',
      replacement: 'a * b',
      status: 'CompileError',
      location: at(5),
    },
    { fileName: 'a.ts', mutatorName: 'Regex', replacement: '/x/', status: 'Ignored', location: at(6) },
  ]);
  assert.deepEqual(
    files.map((f) => [f.file, f.killed, f.timeout, f.survived, f.noCoverage, f.errors]),
    [
      ['a.ts', 0, 1, 1, 1, 1],
      ['b.ts', 1, 0, 0, 0, 0],
    ],
  );
  assert.deepEqual(
    survivors.map((s) => [s.line, s.replacement, s.status]),
    [
      [2, '{ }', 'NoCoverage'],
      [9, '""', 'Survived'],
    ],
  );
  assert.equal(score(total(files)), 50);
  assert.ok(Number.isNaN(score({ killed: 0, timeout: 0, survived: 0, noCoverage: 0 })));
});

test('the report has a row per folder with its score and names each undetected mutant', () => {
  const { files, survivors } = summarise([
    {
      fileName: 'x/a.ts',
      mutatorName: 'EqualityOperator',
      replacement: 'a >= b',
      status: 'Survived',
      location: at(7),
    },
    {
      fileName: 'x/a.ts',
      mutatorName: 'EqualityOperator',
      replacement: 'a < b',
      status: 'Killed',
      location: at(7),
    },
    {
      fileName: 'x/a.ts',
      mutatorName: 'EqualityOperator',
      replacement: 'a <= b',
      status: 'Killed',
      location: at(7),
    },
    {
      fileName: 'x/a.ts',
      mutatorName: 'StringLiteral',
      replacement: '`a|b`',
      status: 'Killed',
      location: at(8),
    },
  ]);
  const md = renderReport(
    [{ folder: 'x', runSeconds: 12.4, incremental: true, files, survivors, excluded: [] }],
    80,
  );
  assert.match(md, /^\| x \| 4 \| 3 \| 0 \| 1 \| 0 \| 75\.0 % \| 12 s \(incremental\) \|$/m);
  assert.match(md, /^- x\/a\.ts:7:3 EqualityOperator `a >= b`$/m);
});
