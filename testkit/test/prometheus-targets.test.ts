// setLabelledTargets: a pod that joins the ServiceMonitor's endpoints mid-run (a scale-up) is scraped
// after a config reload, with its labels; one that leaves is dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { startPrometheus } from '../src/index.js';

function metricsServer(value: number): Promise<{ server: Server; address: string }> {
  return new Promise((resolve) => {
    const server = createServer((_req, res) => {
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end(`# TYPE pod_value gauge\npod_value ${value}\n`);
    });
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, address: `127.0.0.1:${(server.address() as { port: number }).port}` }),
    );
  });
}

test('setLabelledTargets adds and removes scrape targets with their labels', async () => {
  const a = await metricsServer(1);
  const b = await metricsServer(2);
  const prometheus = await startPrometheus({
    scrapeTargets: [],
    labelledTargets: [{ targets: [a.address], labels: { pod: 'a' } }],
    scrapeIntervalMs: 500,
  });
  try {
    await prometheus.setLabelledTargets([
      { targets: [a.address], labels: { pod: 'a' } },
      { targets: [b.address], labels: { pod: 'b' } },
    ]);
    await prometheus.scrapedAfter(Date.now(), 1, 20_000);
    const values = await prometheus.query('pod_value');
    assert.deepEqual(values.map((v) => [v.labels.pod, v.value]).sort(), [
      ['a', 1],
      ['b', 2],
    ]);
    await prometheus.setLabelledTargets([{ targets: [b.address], labels: { pod: 'b' } }]);
    const { activeTargets } = await prometheus.api<{ activeTargets: { labels: { pod: string } }[] }>(
      'targets',
    );
    assert.deepEqual(
      activeTargets.map((t) => t.labels.pod),
      ['b'],
    );
  } finally {
    await prometheus.stop();
    a.server.close();
    b.server.close();
  }
});
