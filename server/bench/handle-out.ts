// What handleOut costs in the hub's fan-out: one room of N V2 subscribers, a ~100-byte JSON
// broadcast, four ways: no interception (encode once), intercepted and passed unchanged (shared
// frame), intercepted and rewritten for every subscriber (one encode each), intercepted and dropped.
// Usage: node --import tsx server/bench/handle-out.ts [subscribers=1000] [broadcasts=2000]
import { MemoryBroker } from '../src/broker/memory-broker.js';
import { Hub, type Subscriber } from '../src/hub/hub.js';
import { MemoryPresence } from '../src/presence/memory-presence.js';
import { V2Serializer } from '../src/protocol/serializer.js';
import { createLogger } from '../src/telemetry/logger.js';

type Mode = 'none' | 'pass' | 'rewrite' | 'drop';

async function run(mode: Mode, n: number, broadcasts: number): Promise<number> {
  const hub = new Hub(
    new MemoryBroker({ nodeId: 'b' }),
    new MemoryPresence({ nodeId: 'b' }),
    createLogger({ level: 'silent', nodeId: 'b' }),
  );
  const intercept = mode === 'none' ? undefined : new Set(['msg']);
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const sub: Subscriber = {
      serializer: V2Serializer,
      enqueue: (f) => {
        bytes += f.length;
      },
      handleOut: (_t, _e, payload) =>
        mode === 'pass' ? payload : mode === 'drop' ? null : { ...(payload as object), to: i },
    };
    await hub.subscribe('room:bench', sub, false, intercept);
  }
  const json = JSON.stringify({ body: 'x'.repeat(60), from: 'alice', at: 1733420000000 });
  const start = process.hrtime.bigint();
  for (let k = 0; k < broadcasts; k++) hub.broadcastJson('room:bench', 'msg', json);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (bytes < 0) console.log(bytes);
  return (n * broadcasts) / seconds;
}

const n = Number(process.argv[2] ?? 1000);
const broadcasts = Number(process.argv[3] ?? 2000);
for (const mode of ['none', 'pass', 'rewrite', 'drop'] as Mode[]) {
  await run(mode, n, Math.ceil(broadcasts / 10)); // warm-up
  const rate = await run(mode, n, broadcasts);
  console.log(
    `${mode.padEnd(8)} ${(rate / 1e6).toFixed(2)}M deliveries/s (${n} subscribers, ${broadcasts} broadcasts)`,
  );
}
