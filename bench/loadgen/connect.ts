/**
 * Opening one lean connection of a load-generator process: the protocol's request target and
 * handler on a LeanSocket, settled when the protocol says ready (or after SETUP_TIMEOUT_MS). Shared
 * by subscribers and publishers.
 */
import { performance } from 'node:perf_hooks';
import { LeanSocket } from './lean-socket.js';
import {
  protocolFor,
  type DeliverySink,
  type Endpoint,
  type Protocol,
  type ResumeState,
  type Role,
} from './protocols.js';

const SETUP_TIMEOUT_MS = 30_000;

/** Wall clock in µs since the epoch, sub-millisecond and monotonic within the process. */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

const protocols = new Map<string, Protocol>();
/** One protocol per distinct endpoint, made once. */
export function protocolOf(ep: Endpoint): Protocol {
  const key = JSON.stringify(ep);
  let p = protocols.get(key);
  if (!p) {
    p = protocolFor(ep);
    protocols.set(key, p);
  }
  return p;
}

/** Opens a connection in `role` and resolves once the protocol declared it ready. */
export function open(
  ep: Endpoint,
  proto: Protocol,
  role: Role,
  index: number,
  sink: DeliverySink,
  onClosed: (code: number) => void,
  localAddress?: string,
  resume?: ResumeState,
  knownPath?: string,
): Promise<LeanSocket> {
  return (knownPath !== undefined ? Promise.resolve(knownPath) : proto.path(index, role)).then(
    (path) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => sock.fail(new Error(`setup took over ${SETUP_TIMEOUT_MS} ms`)),
          SETUP_TIMEOUT_MS,
        );
        const sock: LeanSocket = new LeanSocket({
          host: ep.host,
          port: ep.port,
          path,
          localAddress,
          handler: proto.handler(role, sink, resume),
          onSettled(err) {
            clearTimeout(timer);
            if (err) reject(err);
            else resolve(sock);
          },
          onClosed: (_s, code) => onClosed(code),
        });
      }),
  );
}
