// Which pod a latency fault freezes. Late deliveries need publications from other pods to pile up
// for the frozen one: freezing the pod that holds a room's only publisher (the rollout scenario has
// one per room) stops the publications instead, and p99 never moves. So the victim is a pod with
// clients whose own clients published least over a short sample.
import type { Replica } from './replicas.js';

interface PodSample {
  connections: number;
  publishes: number;
}

async function sample(replica: Replica): Promise<PodSample> {
  const res = await fetch(`http://127.0.0.1:${replica.metricsPort}/metrics`, {
    signal: AbortSignal.timeout(2000),
  });
  const text = await res.text();
  const connections = Number(/^switchboard_connections (\d+)$/m.exec(text)?.[1] ?? 0);
  let publishes = 0;
  for (const m of text.matchAll(/^switchboard_publishes_total\{source="client"\} (\d+)$/gm))
    publishes += Number(m[1]);
  return { connections, publishes };
}

/** The pod with clients whose clients published least over `sampleMs`; the first pod when unreadable. */
export async function quietestPod(replicas: Replica[], sampleMs = 1000): Promise<Replica> {
  const first = replicas[0];
  if (!first) throw new Error('no server pod to inject the fault into');
  try {
    const before = await Promise.all(replicas.map(sample));
    await new Promise((r) => setTimeout(r, sampleMs));
    const after = await Promise.all(replicas.map(sample));
    const candidates = replicas
      .map((replica, i) => ({
        replica,
        connections: after[i]!.connections,
        published: after[i]!.publishes - before[i]!.publishes,
      }))
      .filter((c) => c.connections > 0)
      .sort((a, b) => a.published - b.published || b.connections - a.connections);
    return candidates[0]?.replica ?? first;
  } catch {
    return first;
  }
}
