// The command line selects workloads and variants, sets D's timings and passes WORKERS on; a bad
// value is refused with a message naming the flag.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBenchArgs, usage, type BenchOptions } from '../lib/options.js';

const parse = (argv: string[]) => parseBenchArgs(argv) as BenchOptions;

test('--workloads D runs the reconnect storm alone; --variants picks one-node or two-node', () => {
  const o = parse(['--workloads', 'd', '--variants', 'two-node']);
  assert.deepEqual(
    o.workloads.map((w) => [w.name, w.mode]),
    [['D', 'storm']],
  );
  assert.deepEqual(o.variants, ['two-node']);
  assert.deepEqual(parse([]).variants, ['one-node', 'two-node']);
  assert.throws(() => parse(['--variants', 'three-node']), /--variants: unknown "three-node"/);
});

test('--no-workloads leaves only the idle-memory measurement', () => {
  const o = parse(['--no-workloads', '--idle', '1000']);
  assert.deepEqual(o.workloads, []);
  assert.equal(o.idle, true);
  assert.deepEqual(o.idleCounts, [1000]);
  assert.throws(() => parse(['--no-workloads', '--workloads', 'A']), /exclude each other/);
});

test('--storm-s and --storm-deadline-s set D; --quick shrinks it like the others', () => {
  const o = parse(['--storm-s', '12', '--storm-deadline-s', '30']);
  assert.equal(o.storm.publishMs, 12_000);
  assert.equal(o.storm.deadlineMs, 30_000);
  assert.throws(() => parse(['--storm-s', '2']), /--storm-s must be above/);
  const small = parse(['--storm-subscribers', '1000']).workloads.find((w) => w.name === 'D')!;
  assert.equal(small.rooms * small.subscribersPerRoom, 1000);
  const d = parse(['--quick']).workloads.find((w) => w.name === 'D')!;
  assert.equal(d.rooms * d.subscribersPerRoom, 100);
});

test('--workers N starts Switchboard with WORKERS=N and nothing else', () => {
  const o = parse(['--workers', '4', '--switchboard-env', 'LOG_LEVEL=info']);
  assert.equal(o.workers, 4);
  assert.deepEqual(o.serverEnv, { switchboard: { LOG_LEVEL: 'info', WORKERS: '4' } });
  assert.equal(parse([]).serverEnv.switchboard?.WORKERS, undefined);
  assert.throws(() => parse(['--workers', '0']), /--workers must be a positive integer/);
});

test('--help names the new flags', () => {
  for (const flag of [
    '--workloads',
    '--variants',
    '--storm-s',
    '--storm-deadline-s',
    '--workers',
    '--out',
    '--json',
  ]) {
    assert.ok(usage.includes(flag), flag);
  }
  assert.equal(parseBenchArgs(['--help']), 'help');
});

test('subscribers come from 4 loopback addresses unless --source-addresses says otherwise (0: the kernel picks)', () => {
  assert.equal(parse([]).sourceAddresses, 4);
  assert.equal(parse(['--source-addresses', '0']).sourceAddresses, 0);
  assert.equal(parse(['--source-addresses', '8']).sourceAddresses, 8);
  assert.throws(() => parse(['--source-addresses', '251']), /--source-addresses/);
  assert.throws(() => parse(['--source-addresses', '-1']), /--source-addresses/);
});
