import type { Session } from '../session/session.js';
import { CloseCode } from '../protocol/close-codes.js';
import type { PollSink } from './longpoll-sink.js';

/** What a poll answers, as the official client reads it (`status` 200/204/410, `token`, `messages`). */
export interface PollAnswer {
  status: 200 | 204 | 410;
  token: string | null;
  messages: string[];
}

interface PollSession {
  sink: PollSink;
  session: Session;
  /** Time (ms) the last poll ended; a session nobody polls for idleMs is closed. */
  lastPoll: number;
  /** Ends the poll waiting on this session (if any) without taking its messages. */
  cancel: (() => void) | null;
}

export interface LocalPollOptions {
  /** How long a poll waits for messages before answering 204 (Phoenix: window_ms 10 s). */
  pollWindowMs: number;
  /** A session not polled for this long is closed (the LongPoll client's missed heartbeat). */
  idleMs: number;
}

/**
 * The LongPoll sessions that live on this node, whichever node the HTTP request arrived at: a
 * poll relayed from another node lands here just like a local one. No HTTP in here.
 * Bounds: one waiting poll per session (a second ends the first with what is pending), the
 * pending messages are the session's outbound queue (OUTBOUND_QUEUE_MAX_BYTES, see PollSink), and
 * a session is closed when not polled for idleMs.
 */
export class LocalPollSessions {
  private readonly sessions = new Map<string, PollSession>();
  private readonly sweep: NodeJS.Timeout;

  constructor(private readonly opts: LocalPollOptions) {
    this.sweep = setInterval(() => this.expire(), Math.max(100, Math.floor(opts.idleMs / 4)));
    this.sweep.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  add(id: string, sink: PollSink, session: Session): void {
    this.sessions.set(id, { sink, session, lastPoll: Date.now(), cancel: null });
    // A closed session stays until a poll took what it still holds (the replies and broadcasts
    // written before the close, e.g. a drain's), so the client reads them before its 410.
    sink.once('close', () => {
      if (sink.messages.length === 0 && this.sessions.get(id)?.cancel === null) this.sessions.delete(id);
    });
  }

  has(id: string): boolean {
    return this.sessions.has(id);
  }

  /**
   * Waits (up to the poll window) for `id`'s messages and hands the answer to `deliver`, once.
   * Returns a function that ends the wait without taking anything (the HTTP request went away).
   */
  poll(id: string, deliver: (answer: PollAnswer) => void): () => void {
    const s = this.sessions.get(id);
    if (!s) {
      deliver({ status: 410, token: null, messages: [] });
      return () => undefined;
    }
    s.cancel?.(); // a second poll on one session ends the first (with nothing taken)
    // The LongPoll client sends no heartbeats (skipHeartbeat): a poll is its sign of life.
    s.session.lastSeen = Date.now();
    const wait: { timer?: NodeJS.Timeout } = {};
    const end = () => {
      clearTimeout(wait.timer);
      if (s.sink.waiter === answer) s.sink.waiter = null;
      if (s.cancel === cancel) s.cancel = null;
      s.lastPoll = Date.now();
    };
    const answer = () => {
      end();
      if (s.sink.messages.length > 0) return deliver({ status: 200, token: id, messages: s.sink.take() });
      if (s.sink.readyState !== 1) {
        this.sessions.delete(id);
        return deliver({ status: 410, token: null, messages: [] });
      }
      deliver({ status: 204, token: id, messages: [] });
    };
    const cancel = () => {
      end();
      deliver({ status: 204, token: id, messages: [] });
    };
    if (s.sink.messages.length > 0 || s.sink.readyState !== 1) {
      answer();
      return () => undefined;
    }
    s.sink.waiter = answer;
    s.cancel = cancel;
    wait.timer = setTimeout(answer, this.opts.pollWindowMs);
    return () => {
      if (s.cancel === cancel) end();
    };
  }

  /** Hands the lines of a POST body to `id`'s session; 410 when it is gone. */
  post(id: string, lines: readonly string[]): 200 | 410 {
    const s = this.sessions.get(id);
    if (!s || s.sink.readyState !== 1) return 410;
    for (const line of lines) {
      if (line.length > 0) s.sink.emit('message', Buffer.from(line, 'utf8'), false);
    }
    return 200;
  }

  stop(): void {
    clearInterval(this.sweep);
    for (const s of this.sessions.values()) s.session.close(CloseCode.serviceRestart);
    this.sessions.clear();
  }

  private expire(): void {
    const now = Date.now();
    for (const [id, s] of this.sessions) {
      if (s.cancel !== null || now - s.lastPoll <= this.opts.idleMs) continue;
      this.sessions.delete(id);
      // No poll is a LongPoll client's missed heartbeat.
      if (s.sink.readyState === 1) s.session.close(CloseCode.heartbeatTimeout);
    }
  }
}
