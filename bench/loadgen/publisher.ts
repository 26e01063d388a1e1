/**
 * The publisher process's side of the generator: one connection per topic (or, for Switchboard in
 * workload D, one POST /api/broadcast stream per topic), each topic's publications sent on a fixed
 * schedule (start + i / rate) and stamped with when they were due.
 */
import { ApiPublisher } from './api-publisher.js';
import { nowUs, open, protocolOf } from './connect.js';
import type { LeanSocket } from './lean-socket.js';
import type { PublishCommand, PublishersCommand, PublishResult } from './messages.js';
import { formatPublication } from './payload.js';
import type { DeliverySink, Endpoint, Protocol } from './protocols.js';

/** First publication is due this long after the publish command arrives, so the schedule starts clean. */
const LEAD_US = 5_000;

export interface PublisherSlot {
  topic: string;
  /** null when it publishes through the HTTP API (`api`). */
  sock: LeanSocket | null;
  api?: ApiPublisher;
  endpoint: Endpoint;
  proto: Protocol;
  /** Close code of the last close by the server, until the next publish reports it. */
  closedWith: number | null;
}

/** Every publisher of this process. */
export const publishers: PublisherSlot[] = [];

/** Opens one publisher per topic of `c`. */
export async function addPublishers(c: PublishersCommand): Promise<void> {
  for (const topic of c.topics) {
    const endpoint = { ...c.endpoint, topic };
    const slot = { topic, endpoint, proto: protocolOf(endpoint), closedWith: null };
    if (endpoint.apiToken) {
      const api = new ApiPublisher(endpoint.host, endpoint.port, endpoint.apiToken, topic);
      publishers.push({ ...slot, sock: null, api });
    } else publishers.push({ ...slot, sock: await openPublisher(slot) });
  }
}

export function closePublishers(): void {
  for (const p of publishers) {
    p.sock?.close();
    p.api?.close();
  }
  publishers.length = 0;
}

const publisherSink: DeliverySink = { delivery() {}, other() {} };

async function openPublisher(p: Omit<PublisherSlot, 'sock' | 'api'>): Promise<LeanSocket> {
  return open(p.endpoint, p.proto, 'publisher', 1_000_000, publisherSink, (code) => {
    const slot = publishers.find((x) => x.topic === p.topic);
    if (slot) slot.closedWith = code;
  });
}

export async function publish(c: PublishCommand): Promise<PublishResult> {
  if (!(c.ratePerTopic > 0) || !(c.durationMs > 0))
    throw new Error('publish.ratePerTopic and publish.durationMs must be > 0');
  const pubs = publishers;
  if (pubs.length === 0) throw new Error('publish before publishers: send the publishers command first');
  // An overloaded step can make the server close a publisher: publishing into it measures nothing.
  let reopenedAfter: number | undefined;
  for (const p of pubs) {
    if (!p.sock || p.sock.state === 'ready') continue;
    reopenedAfter = p.closedWith ?? 0;
    p.closedWith = null;
    p.sock = await openPublisher(p);
  }
  const filler = 'x'.repeat(c.bodyBytes);
  const topics = pubs.length;
  const perTopic = Math.max(1, Math.round((c.ratePerTopic * c.durationMs) / 1000));
  const total = perTopic * topics;
  // Publication n goes to topic n % topics: each topic at ratePerTopic, the topics evenly staggered.
  const gapUs = 1e6 / (c.ratePerTopic * topics);
  const startUs = nowUs() + LEAD_US;
  const due = (n: number) => Math.round(startUs + n * gapUs);
  let n = 0;
  let maxLagUs = 0;
  return new Promise((resolve) => {
    const tick = () => {
      const now = nowUs();
      for (const p of pubs) p.sock?.cork();
      for (; n < total; n++) {
        const intended = due(n);
        if (intended > now) break;
        maxLagUs = Math.max(maxLagUs, now - intended);
        const p = pubs[n % topics]!;
        const json = formatPublication(c.step, Math.floor(n / topics), intended, filler);
        if (p.api) p.api.send(json);
        else p.sock?.sendText(p.proto.publish(p.sock, json));
      }
      for (const p of pubs) p.sock?.uncork();
      if (n >= total) {
        resolve({
          perTopic,
          topics,
          startUs,
          endUs: due(total - 1),
          maxLagMs: maxLagUs / 1000,
          reopenedAfter,
        });
      } else setTimeout(tick, Math.max(0, Math.min(1, (due(n) - nowUs()) / 1000)));
    };
    setTimeout(tick, LEAD_US / 1000);
  });
}
