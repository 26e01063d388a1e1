import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import { isOriginAllowed } from '../auth/origin.js';
import { AuthError, type TokenVerifier } from '../auth/verifier.js';
import type { RelayMessage } from '../cluster/node-relay.js';
import type { SwitchboardNode } from '../node.js';
import { serializerForVsn, unsupportedVsnMessage } from '../protocol/serializer.js';
import { metrics } from '../telemetry/metrics.js';
import type { ClientAddressResolver } from './client-address.js';
import type { ConnectionCounter } from './connection-caps.js';
import { HttpError, readBody, sendJson } from './http-util.js';
import { LocalPollSessions, type PollAnswer } from './longpoll-local.js';
import { PollSink } from './longpoll-sink.js';

/** The LongPoll endpoint: the client's `new Socket("/socket", {transport: LongPoll})` uses it. */
export const LONGPOLL_PATH = '/socket/longpoll';
/** Session tokens are `lp.<owning node id, base64url>.<random>`; told apart from a JWT also sent as `token`. */
const ID_PREFIX = 'lp.';
/** Relayed requests a node waits on at once (polls and posts for sessions on other nodes). */
const MAX_RELAYED_WAITS = 100_000;

export interface LongPollOptions {
  node: SwitchboardNode;
  verify: TokenVerifier;
  /** How long a poll waits for messages before answering 204 (LONGPOLL_WINDOW_MS; Phoenix: 10 s). */
  pollWindowMs: number;
  /** A session not polled for this long is closed (LONGPOLL_IDLE_MS). */
  idleMs: number;
  /** How long a relayed request may wait for the owning node beyond the poll window (LONGPOLL_RELAY_TIMEOUT_MS). */
  relayTimeoutMs: number;
  allowedOrigins: readonly string[];
  /** The WebSocket path's caps: a LongPoll session holds a slot like a WebSocket does. */
  perUser: ConnectionCounter;
  perAddress: ConnectionCounter;
  clientAddress: ClientAddressResolver;
}

type Route = 'local' | 'relayed';

/** The node that owns the session a token names, or undefined for a token that is no session's. */
export function tokenOwner(token: string): string | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === '' || parts[2] === '') return undefined;
  return Buffer.from(parts[1]!, 'base64url').toString('utf8');
}

/**
 * Phoenix's LongPoll protocol (docs/protocol.md "LongPoll"): every answer is HTTP 200 with a JSON
 * body whose `status` the client reads. GET without a session token opens a session (410 + token);
 * GET with one waits up to the poll window for messages (200 + messages, else 204); an unknown or
 * closed session is 410 (the client reconnects); a refused token is 403; a draining node or a cap
 * answers an open with 500 (the client backs off and reconnects). POST sends ndjson (200).
 *
 * Across replicas without sticky sessions (docs/scaling.md): a session lives on the node that
 * opened it and the token names that node. A GET or POST that lands on another node is relayed
 * to the owner over the broker (NodeRelay), as Phoenix relays it over PubSub; the owner answers the
 * same way. An owner that is gone (no longer heard from) or silent answers 410, so the client
 * reconnects and its channels recover the gap from history.
 */
export class LongPollSessions {
  private readonly local: LocalPollSessions;
  /** Relayed requests this node waits on, by request id. Bound: MAX_RELAYED_WAITS. */
  private readonly waiting = new Map<string, (answer: PollAnswer) => void>();
  /** Polls other nodes relayed here, by `<node> <request id>`: their cancels (the client went away). */
  private readonly relayedPolls = new Map<string, () => void>();
  private nextRequest = 0;

  constructor(private readonly opts: LongPollOptions) {
    this.local = new LocalPollSessions({ pollWindowMs: opts.pollWindowMs, idleMs: opts.idleMs });
    const { relay } = opts.node;
    relay.on('lp-poll', (m) => this.onRelayedPoll(m));
    relay.on('lp-cancel', (m) => {
      const key = `${m.from} ${String(m.req)}`;
      this.relayedPolls.get(key)?.();
      this.relayedPolls.delete(key);
    });
    relay.on('lp-post', (m) => {
      const lines = Array.isArray(m.lines) ? m.lines.filter((l) => typeof l === 'string') : [];
      const status = this.local.post(String(m.sid), lines);
      this.answerRelay(m.from, m.req, { status, token: null, messages: [] });
    });
    relay.on('lp-answer', (m) => {
      const answer = m.answer as PollAnswer;
      const waiter = this.waiting.get(String(m.req));
      if (waiter && typeof answer === 'object' && answer !== null) waiter(answer);
    });
  }

  get size(): number {
    return this.local.size;
  }

  stop(): void {
    this.local.stop();
    for (const w of this.waiting.values()) w({ status: 410, token: null, messages: [] });
  }

  handle = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    if (!isOriginAllowed(req.headers.origin, this.opts.allowedOrigins)) {
      throw new HttpError(403, 'origin not allowed (ALLOWED_ORIGINS)');
    }
    const id = url.searchParams.getAll('token').findLast((t) => t.startsWith(ID_PREFIX));
    if (req.method === 'GET') {
      if (id === undefined) return this.open(req, res, url);
      return this.poll(id, res);
    }
    if (req.method === 'POST') {
      const body = (await readBody(req, this.opts.node.limits.outboundQueueMaxBytes)).toString('utf8');
      return this.post(id, body.split('\n'), res);
    }
    res.setHeader('allow', 'GET, POST');
    throw new HttpError(405, 'LongPoll takes GET (poll) and POST (send)');
  };

  private async open(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const { node, perUser, perAddress } = this.opts;
    const refuse = (result: 'refused' | 'forbidden', status: 403 | 500) => {
      metrics.longPollRequests.inc({ request: 'open', result, route: 'local' });
      sendJson(res, 200, { status, token: null, messages: [] });
    };
    // 500 makes the client close and reconnect with backoff (to another replica behind the
    // ingress); a 410 without a session would have it poll again at once.
    if (node.isDraining) return refuse('refused', 500);
    const vsn = url.searchParams.get('vsn');
    const serializer = serializerForVsn(vsn);
    if (!serializer) throw new HttpError(400, unsupportedVsnMessage(vsn));
    const header = req.headers['x-phoenix-authtoken'];
    const jwt = typeof header === 'string' ? header : url.searchParams.getAll('token')[0];
    let principal;
    try {
      principal = await this.opts.verify(jwt ?? null);
    } catch (err) {
      if (err instanceof AuthError) return refuse('forbidden', 403);
      throw err;
    }
    const admission = await node.admit(principal, url.searchParams);
    if (!('principal' in admission)) {
      return refuse(admission.status === 403 ? 'forbidden' : 'refused', admission.status);
    }
    principal = admission.principal;
    const address = this.opts.clientAddress.resolve(req);
    if (!perAddress.tryAcquire(address)) return refuse('refused', 500);
    if (!perUser.tryAcquire(principal.sub)) {
      perAddress.release(address);
      return refuse('refused', 500);
    }
    const sink = new PollSink();
    const session = node.accept(sink as unknown as WebSocket, sink.socket, principal, serializer);
    const id = `${ID_PREFIX}${Buffer.from(node.nodeId).toString('base64url')}.${randomBytes(18).toString('base64url')}`;
    this.local.add(id, sink, session);
    metrics.longPollSessions.inc();
    sink.once('close', () => {
      perAddress.release(address);
      perUser.release(principal.sub);
      metrics.longPollSessions.dec();
    });
    metrics.longPollRequests.inc({ request: 'open', result: 'ok', route: 'local' });
    sendJson(res, 200, { status: 410, token: id, messages: [] });
  }

  private poll(id: string, res: ServerResponse): void {
    const owner = tokenOwner(id);
    const route = this.routeOf(owner);
    const reply = (answer: PollAnswer) => {
      const result = answer.status === 200 ? 'ok' : answer.status === 204 ? 'empty' : 'gone';
      metrics.longPollRequests.inc({ request: 'poll', result, route });
      if (!res.writableEnded && !res.destroyed) sendJson(res, 200, answer);
    };
    if (route === 'local') {
      const cancel = this.local.poll(id, reply);
      res.once('close', cancel);
      return;
    }
    const req = this.relayTo(owner, { kind: 'lp-poll', sid: id }, this.opts.pollWindowMs, reply);
    if (req !== undefined) {
      res.once('close', () => {
        if (!this.waiting.delete(req)) return;
        this.opts.node.relay.send(owner!, { kind: 'lp-cancel', req }).catch(() => undefined);
      });
    }
  }

  private post(id: string | undefined, lines: string[], res: ServerResponse): void {
    const owner = id === undefined ? undefined : tokenOwner(id);
    const route = this.routeOf(owner);
    const reply = (answer: PollAnswer | { status: 200 | 410 }) => {
      metrics.longPollRequests.inc({ request: 'post', result: answer.status === 200 ? 'ok' : 'gone', route });
      if (!res.writableEnded && !res.destroyed) sendJson(res, 200, { status: answer.status });
    };
    if (route === 'local') return reply({ status: this.local.post(id ?? '', lines) });
    this.relayTo(owner, { kind: 'lp-post', sid: id, lines }, 0, reply);
  }

  /** A token no node owns is answered here (410, as an unknown session). */
  private routeOf(owner: string | undefined): Route {
    return owner === undefined || owner === this.opts.node.nodeId ? 'local' : 'relayed';
  }

  /**
   * Sends a request to the session's owner and hands its answer to `reply`; 410 at once when the
   * owner is not a live node, and 410 when it does not answer within `waitMs` + the relay timeout.
   * Returns the request id while it waits.
   */
  private relayTo(
    owner: string | undefined,
    msg: { kind: string; sid: unknown; [k: string]: unknown },
    waitMs: number,
    reply: (answer: PollAnswer) => void,
  ): string | undefined {
    const gone = (): undefined => void reply({ status: 410, token: null, messages: [] });
    const { relay, control } = this.opts.node;
    if (owner === undefined || this.waiting.size >= MAX_RELAYED_WAITS) return gone();
    if (!control.peersAlive().includes(owner)) return gone();
    const req = `${++this.nextRequest}`;
    const timer = setTimeout(() => {
      if (this.waiting.delete(req)) gone();
    }, waitMs + this.opts.relayTimeoutMs);
    this.waiting.set(req, (answer) => {
      clearTimeout(timer);
      this.waiting.delete(req);
      reply(answer);
    });
    relay.send(owner, { ...msg, req }).catch(() => {
      clearTimeout(timer);
      if (this.waiting.delete(req)) gone();
    });
    return req;
  }

  /** A poll another node relayed here: answered back to it over the relay. */
  private onRelayedPoll(m: RelayMessage): void {
    const key = `${m.from} ${String(m.req)}`;
    if (this.relayedPolls.size >= MAX_RELAYED_WAITS) {
      return this.answerRelay(m.from, m.req, { status: 410, token: null, messages: [] });
    }
    let answered = false;
    const cancel = this.local.poll(String(m.sid), (answer) => {
      answered = true;
      this.relayedPolls.delete(key);
      this.answerRelay(m.from, m.req, answer);
    });
    if (!answered) this.relayedPolls.set(key, cancel);
  }

  private answerRelay(to: string, req: unknown, answer: PollAnswer | { status: 200 | 410 }): void {
    this.opts.node.relay.send(to, { kind: 'lp-answer', req, answer }).catch(() => undefined);
  }
}
