/** Commands the orchestrator sends a load-generator process over IPC, and their results. */
import type { Endpoint } from './protocols.js';

export interface ConnectCommand {
  cmd: 'connect';
  endpoint: Endpoint;
  /** How many subscribers to open (added to those already open). */
  count: number;
  /** Index of the first connection (token subject, source address choice). */
  firstIndex: number;
  /** Handshakes in flight at once. */
  concurrency: number;
  /** Loopback source addresses to spread connections over (empty: let the kernel choose). */
  localAddresses: string[];
  /** Stop opening new connections after this long; the rest count as failed. */
  deadlineMs: number;
  /** Each connection joins `<topic>-<index>` (like a per-user topic) instead of the shared topic. */
  topicPerConnection?: boolean;
}
export interface ConnectResult {
  connected: number;
  failed: number;
  /** First few distinct failure messages. */
  errors: string[];
  ms: number;
}

export interface PublisherCommand {
  cmd: 'publisher';
  endpoint: Endpoint;
}

export interface RecordCommand {
  cmd: 'record';
  /** Probability that a delivery's latency is recorded (1 = every one). */
  sampleProbability: number;
}

export interface PublishCommand {
  cmd: 'publish';
  /** Messages per second. */
  rate: number;
  durationMs: number;
  /** Bytes of filler in each message besides the timestamp. */
  bodyBytes: number;
}
export interface PublishResult {
  sent: number;
  /** Wall clock (µs since epoch) of the first and last send. */
  startUs: number;
  endUs: number;
  /** Largest user-space write backlog seen on the publisher socket, bytes. */
  maxBacklog: number;
  /** Set when the server had closed the publisher since the last step: its close code (reopened before publishing). */
  reopenedAfter?: number;
}

export interface CountsCommand {
  cmd: 'counts';
}
export interface Counts {
  received: number;
  other: number;
  /** Subscribers currently ready. */
  ready: number;
  /** Subscribers closed by the server since the last `record`, by close code. */
  closedCodes: Record<string, number>;
  /** Subscribers closed by the server since the generator started, by close code. */
  closedTotal: Record<string, number>;
}

export interface ReportCommand {
  cmd: 'report';
}
export interface RecordReport extends Counts {
  /** hdr-histogram of publish-to-receive latency in µs, compressed base64. */
  histogram: string;
  samples: number;
  /** CPU the generator used since `record`, in % of one core. */
  cpuPercent: number;
}

export interface TopUpCommand {
  cmd: 'top-up';
}

export interface CloseCommand {
  cmd: 'close';
}

export type Command =
  | ConnectCommand
  | PublisherCommand
  | RecordCommand
  | PublishCommand
  | CountsCommand
  | ReportCommand
  | TopUpCommand
  | CloseCommand;

export interface Request {
  id: number;
  command: Command;
}
export type Response = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
