import type { Broker, Publication } from '../broker/broker.js';
import type { HistoryAccess } from '../store/index.js';
import type { SequencedPublication } from '../store/sequencer.js';
import {
  contextOf,
  deliverTraced,
  endSpan,
  startChildSpan,
  startPublishSpan,
  tracingEnabled,
} from './tracing.js';

/**
 * Tracing decorators for the two seams a publication crosses, applied at the composition root
 * (main.ts) only when tracing is on, so the node and the backends know nothing of OpenTelemetry:
 *
 *   TracedHistory.append   the node's publish path: `publish` span, `traceparent` written into the
 *                          publication, `sequence` child span around the append (on Redis the
 *                          sequencer's script also publishes to the other nodes)
 *   TracedBroker.publish   `broker publish` child span (memory sequencer: the node publishes itself)
 *   TracedBroker listener  `deliver` span, child of the publisher's span, around the local fan-out
 */

/** `broker` itself when tracing is off, else a tracing decorator of it. */
export function traceBroker(broker: Broker): Broker {
  return tracingEnabled() ? new TracedBroker(broker) : broker;
}

/** `history` itself when tracing is off, else a tracing decorator of it. */
export function traceHistory(history: HistoryAccess): HistoryAccess {
  return tracingEnabled() ? new TracedHistory(history) : history;
}

/** Delegates every Broker call; adds the `broker publish` and `deliver` spans. */
export class TracedBroker implements Broker {
  constructor(private readonly inner: Broker) {}

  start(): Promise<void> {
    return this.inner.start();
  }

  async publish(pub: Publication): Promise<void> {
    const span = startChildSpan('broker publish', contextOf(pub.traceparent), {
      'messaging.destination.name': pub.topic,
    });
    if (span === null) return this.inner.publish(pub);
    try {
      await this.inner.publish(pub);
      span.end();
    } catch (err) {
      endSpan(span, 'switchboard.broker.result', 'error', err);
      throw err;
    }
  }

  subscribe(topic: string): Promise<void> {
    return this.inner.subscribe(topic);
  }

  unsubscribe(topic: string): Promise<void> {
    return this.inner.unsubscribe(topic);
  }

  onPublication(listener: (pub: Publication) => void): void {
    this.inner.onPublication((pub) => deliverTraced(pub, listener));
  }

  onConnectionChange(listener: (connected: boolean) => void): void {
    this.inner.onConnectionChange(listener);
  }

  isConnected(): boolean {
    return this.inner.isConnected();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Delegates every HistoryAccess member; `append` (the publish path) opens the publish trace. */
export class TracedHistory implements HistoryAccess {
  constructor(private readonly inner: HistoryAccess) {}

  get deliversToNodes(): boolean {
    return this.inner.deliversToNodes;
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  whenReady(timeoutMs: number): Promise<boolean> {
    return this.inner.whenReady(timeoutMs);
  }

  async append(pub: Publication): Promise<SequencedPublication> {
    const publish = startPublishSpan(pub);
    if (publish === null) return this.inner.append(pub);
    const sequence = startChildSpan('sequence', publish.ctx, {
      'messaging.destination.name': pub.topic,
      'switchboard.publishes_to_nodes': this.inner.deliversToNodes,
    })!;
    try {
      const sequenced = await this.inner.append(pub);
      sequence.setAttribute('switchboard.offset', sequenced.offset);
      sequence.end();
      publish.span.setAttribute('switchboard.offset', sequenced.offset);
      publish.span.end();
      return sequenced;
    } catch (err) {
      endSpan(sequence, 'switchboard.sequence.result', 'error', err);
      endSpan(publish.span, 'switchboard.publish.result', 'error', err);
      throw err;
    }
  }

  position(topic: string): ReturnType<HistoryAccess['position']> {
    return this.inner.position(topic);
  }

  recover(req: Parameters<HistoryAccess['recover']>[0]): ReturnType<HistoryAccess['recover']> {
    return this.inner.recover(req);
  }

  readSince(topic: string, since: number, limit: number): ReturnType<HistoryAccess['readSince']> {
    return this.inner.readSince(topic, since, limit);
  }

  flush(timeoutMs: number): Promise<boolean> {
    return this.inner.flush(timeoutMs);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
