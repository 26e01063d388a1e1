import type { Broker, Publication } from '../broker/broker.js';
import { decodePublication } from '../store/publication-codec.js';
import type { IpcEndpoint, IpcHandler } from './ipc.js';

/**
 * A worker's broker (WORKERS>1): subscriptions and publications go to the primary, whose node bus
 * (node-bus.ts) hands them to the other workers and to the pod's one real broker. Same guarantee
 * as the Broker interface: at-most-once; a worker restarted by the primary starts with no topics.
 */
export class IpcBroker implements Broker {
  private readonly listeners: ((pub: Publication) => void)[] = [];
  private readonly connectionListeners: ((connected: boolean) => void)[] = [];
  private connected = false;

  constructor(
    private readonly primary: IpcEndpoint,
    handlers: Map<string, IpcHandler>,
  ) {
    // Encoded once in the primary for every worker; decoded once here for every local subscriber.
    handlers.set('pub', (data) => this.deliver(decodePublication(data as string)));
    handlers.set('broker', (connected) => this.setConnected(connected === true));
  }

  async start(): Promise<void> {
    this.setConnected(await this.primary.request<boolean>('brokerConnected'));
  }

  async publish(pub: Publication): Promise<void> {
    this.primary.notify('publish', pub);
  }

  subscribe(topic: string): Promise<void> {
    return this.primary.request('subscribe', topic);
  }

  unsubscribe(topic: string): Promise<void> {
    return this.primary.request('unsubscribe', topic);
  }

  onPublication(listener: (pub: Publication) => void): void {
    this.listeners.push(listener);
  }

  onConnectionChange(listener: (connected: boolean) => void): void {
    this.connectionListeners.push(listener);
  }

  isConnected(): boolean {
    return this.connected;
  }

  async close(): Promise<void> {
    this.setConnected(false);
  }

  private setConnected(connected: boolean): void {
    if (connected === this.connected) return;
    this.connected = connected;
    for (const l of this.connectionListeners) l(connected);
  }

  private deliver(pub: Publication): void {
    for (const l of this.listeners) l(pub);
  }
}
