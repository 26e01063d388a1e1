import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { refusedPort } from '../../testkit/src/index.js';
import type { LoadSummary } from '../lib/summary.js';
import { repoRoot } from '../src/bundle.js';
import { parseArgs } from '../src/cli.js';
import { runScenario } from '../src/runner.js';

const tmp = mkdtempSync(join(tmpdir(), 'sb-loadtest-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'loadtests/src/cli.ts', ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 120_000,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
  });
}

describe('Node runner without a server', () => {
  it('parses flags over the environment', () => {
    const a = parseArgs(['fanout', '--vus', '3', '-e', 'ROOMS=2', '--duration', '2s'], {
      VUS: '9',
      DURATION: '5s',
      ROOMS: '4',
      JWT_SECRET: 's3cret',
    });
    assert.equal(a.run?.env?.VUS, '3');
    assert.equal(a.run?.env?.DURATION, '2s');
    assert.equal(a.run?.env?.ROOMS, '2');
    assert.equal(a.run?.jwtSecret, 's3cret');
    assert.equal(a.run?.summaryPath, 'fanout-summary.json');
    assert.throws(() => parseArgs(['nope']), /unknown scenario "nope": choose one of connect-storm, fanout/);
  });

  it('records failed connects, fails the ws_connect_success threshold and reports ok=false', async () => {
    const port = await refusedPort();
    const summary = await runScenario({
      scenario: 'connect-storm',
      url: `ws://127.0.0.1:${port}/socket`,
      jwtSecret: 'not-used-by-anyone',
      vus: 2,
      duration: '1500ms',
    });
    assert.equal(summary.ok, false);
    assert.equal(summary.engine, 'node');
    const connect = summary.metrics.ws_connect_success?.values;
    assert.ok((connect?.fails ?? 0) >= 2, JSON.stringify(connect));
    assert.equal(connect?.passes, 0);
    assert.deepEqual(
      summary.thresholds.map((t) => [t.metric, t.ok]),
      [
        ['phx_errors', false],
        ['phx_join_success', false],
        ['ws_connect_success', false],
      ],
    );
  });

  it('exits 99 when a threshold fails, printing the table and writing the summary', () => {
    return refusedPort().then((port) => {
      const path = join(tmp, 'storm.json');
      const r = cli([
        'connect-storm',
        '--url',
        `ws://127.0.0.1:${port}/socket`,
        '--token',
        'aaa.bbb.ccc',
        '--vus',
        '1',
        '--duration',
        '1s',
        '--summary',
        path,
      ]);
      assert.equal(r.status, 99, r.stderr);
      assert.match(r.stdout, /ws_connect_success\s+rate>=0\.999\s+0\s+FAIL/);
      assert.match(r.stdout, /thresholds FAILED/);
      assert.match(r.stderr, /connect-storm \ds\/1s vus=/); // progress line
      assert.ok(existsSync(path));
      const s = JSON.parse(readFileSync(path, 'utf8')) as LoadSummary;
      assert.equal(s.ok, false);
      assert.equal(s.scenario, 'connect-storm');
    });
  });

  it('exits 104 with every configuration problem named', () => {
    const r = cli(['fanout', '--url', 'http://x', '--vus', 'many', '--duration', '10']);
    assert.equal(r.status, 104);
    assert.match(r.stderr, /URL="http:\/\/x" is invalid/);
    assert.match(r.stderr, /VUS="many" is invalid/);
    assert.match(r.stderr, /DURATION="10" is invalid/);
    assert.match(r.stderr, /TOKEN is missing/);
    const help = cli(['--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /usage: npm run loadtest/);
  });
});
