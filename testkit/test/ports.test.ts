// The port helpers: a service is never mistaken for another process on its port, a lost port is
// picked again, and services that bind port 0 report the port they got.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import {
  listeningPorts,
  onFreePorts,
  PortTakenError,
  refusedPort,
  startProcess,
  startPrometheus,
  startRegistry,
  tempDir,
  waitForListener,
} from '../src/index.js';

function listen(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, port: (server.address() as { port: number }).port }),
    );
  });
}

test('listeningPorts names the ports this process listens on, and only those', async () => {
  const { server, port } = await listen();
  try {
    assert.ok(listeningPorts(process.pid).includes(port));
    assert.ok(!listeningPorts(process.ppid).includes(port), 'the parent does not hold our socket');
  } finally {
    server.close();
  }
  assert.ok(!listeningPorts(process.pid).includes(port));
});

test('waitForListener: a redis-server whose port another process holds is a PortTakenError, not ready', async () => {
  const { server, port } = await listen();
  const dir = tempDir('ports-test');
  const proc = startProcess('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', ''], {
    logDir: dir,
    name: 'redis',
  });
  try {
    await assert.rejects(
      waitForListener(proc, { ports: [port], what: 'redis-server', addrInUse: /Address already in use/ }),
      (err) => err instanceof PortTakenError && /redis-server exited/.test(err.message),
    );
  } finally {
    await proc.stop('SIGKILL');
    server.close();
  }
});

test('onFreePorts starts again on other ports after a PortTakenError, and gives up after its attempts', async () => {
  const seen: number[][] = [];
  const got = await onFreePorts(2, async (ports) => {
    seen.push(ports);
    if (seen.length < 3) throw new PortTakenError('taken');
    return ports;
  });
  assert.equal(seen.length, 3);
  assert.equal(new Set(got).size, 2);
  let calls = 0;
  await assert.rejects(
    onFreePorts(
      1,
      async () => {
        calls++;
        throw new PortTakenError('always taken');
      },
      4,
    ),
    /always taken/,
  );
  assert.equal(calls, 4);
  await assert.rejects(
    onFreePorts(1, async () => {
      throw new Error('not a port problem');
    }),
    /not a port problem/,
  );
});

test('refusedPort refuses connections', async () => {
  const port = await refusedPort();
  await assert.rejects(fetch(`http://127.0.0.1:${port}/`));
});

test('startPrometheus and startRegistry bind port 0 and report the port they got', async () => {
  const prometheus = await startPrometheus({ scrapeTargets: [] });
  const registry = await startRegistry();
  try {
    assert.ok(prometheus.port > 0);
    assert.equal((await fetch(`${prometheus.url}/-/ready`)).status, 200);
    assert.ok(registry.port > 0);
    assert.equal((await fetch(`${registry.url}/v2/`)).status, 200);
  } finally {
    await Promise.all([prometheus.stop(), registry.stop()]);
  }
});

test('startRegistry with auth: the bcrypt htpasswd admits the password and nothing else', async () => {
  const registry = await startRegistry({ auth: { username: 'ci', password: 's3cret-pw' } });
  const basic = (user: string, pass: string) => ({
    authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`,
  });
  try {
    assert.equal((await fetch(`${registry.url}/v2/`)).status, 401);
    assert.equal((await fetch(`${registry.url}/v2/`, { headers: basic('ci', 'wrong') })).status, 401);
    assert.equal((await fetch(`${registry.url}/v2/`, { headers: basic('ci', 's3cret-pw') })).status, 200);
  } finally {
    await registry.stop();
  }
});
