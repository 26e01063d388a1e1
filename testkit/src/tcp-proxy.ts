import { connect, createServer, type Socket } from 'node:net';

/** A loopback TCP proxy in front of one service, for tests of a peer that stops answering. */
export interface TcpProxy {
  /** The port clients connect to (bound with port 0, read back). */
  port: number;
  /**
   * Stops forwarding, both ways, on every connection open now or accepted later: connections stay
   * open and bytes sent are not answered, like a frozen peer or a silent network partition.
   */
  stall(): void;
  /**
   * Forwards connections accepted from now on to `targetPort`. A peer that is down and comes back
   * on the same address: start with `refusedPort()` (each connection is accepted, then closed
   * unanswered), retarget to the service once it listens on a port of its own.
   */
  retarget(targetPort: number): void;
  /** Closes the listener and every connection. */
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 (port 0) forwarding every connection to `targetPort`. */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let target = targetPort;
  const sockets = new Set<Socket>();
  let stalled = false;
  const halt = (s: Socket) => {
    s.unpipe();
    s.pause();
  };
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    if (stalled) return halt(client);
    const upstream = connect(target, targetHost);
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      if (!stalled) client.destroy();
    });
    upstream.on('error', () => upstream.destroy());
    client.on('close', () => {
      if (!stalled) upstream.destroy();
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    port,
    stall() {
      stalled = true;
      for (const s of sockets) halt(s);
    },
    retarget(port) {
      target = port;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
