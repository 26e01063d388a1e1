/** Commands the orchestrator sends a load-generator process (one JSON line each on its stdin), and their results (one JSON line each on its stdout). */
import type { Endpoint } from './protocols.js';
import type { StormShardReport } from './storm.js';

/** Opens lean subscribers: subscriber `i` joins `topics[i % topics.length]`. */
export interface SubscribeCommand {
  cmd: 'subscribe';
  /** Server address and protocol; its `topic` is replaced by the subscriber's. */
  endpoint: Endpoint;
  topics: string[];
  /** How many subscribers to open (added to those already open). */
  count: number;
  /** Global index of the first subscriber (token subject, topic choice, source address). */
  firstIndex: number;
  /** Handshakes in flight at once. */
  concurrency: number;
  /** Loopback source addresses to spread connections over (empty: let the kernel choose). */
  localAddresses: string[];
  /** Stop opening new connections after this long; the rest count as failed. */
  deadlineMs: number;
  /** Each subscriber joins `<topics[0]>-<index>` (like a per-user topic): the idle scenario. */
  topicPerConnection?: boolean;
  /** Subscriber `i` connects to `nodes[i % nodes.length]` (host and port) instead of the endpoint's. */
  nodes?: { host: string; port: number }[];
}
export interface ConnectResult {
  connected: number;
  failed: number;
  /** First few distinct failure messages. */
  errors: string[];
  ms: number;
}

/** Opens one publisher connection per topic. */
export interface PublishersCommand {
  cmd: 'publishers';
  endpoint: Endpoint;
  topics: string[];
}

/** Opens `count` official clients (phoenix, socket.io-client, ws), client `i` on `topics[i % n]`. */
export interface SamplersCommand {
  cmd: 'samplers';
  endpoint: Endpoint;
  topics: string[];
  count: number;
}

export interface RecordCommand {
  cmd: 'record';
  /** Step number written into each publication: deliveries of other steps are counted as stale. */
  step: number;
  /** Probability that a delivery's latency is recorded (1 = every one). */
  sampleProbability: number;
}

export interface PublishCommand {
  cmd: 'publish';
  step: number;
  /** Publications per second on each topic. */
  ratePerTopic: number;
  durationMs: number;
  /** Bytes of filler in each publication besides the stamp. */
  bodyBytes: number;
}
export interface PublishResult {
  /** Publications sent on each topic (numbered 0 .. perTopic-1). */
  perTopic: number;
  topics: number;
  /** Intended time (µs since epoch) of the first publication and of the last. */
  startUs: number;
  endUs: number;
  /** Most any publication left after its intended time, ms: the publisher's own lag. */
  maxLagMs: number;
  /** Set when the server had closed a publisher since the last step: its close code (reopened before publishing). */
  reopenedAfter?: number;
}

export interface CountsCommand {
  cmd: 'counts';
}
export interface Counts {
  /** Deliveries of the current step. */
  received: number;
  other: number;
  /** Subscribers currently ready. */
  ready: number;
  /** Subscribers closed by the server since the last `record`, by close code. */
  closedCodes: Record<string, number>;
  /** Subscribers closed by the server since the generator started, by close code. */
  closedTotal: Record<string, number>;
}

/** One subscriber that did not get exactly the step's publications once each, in order. */
export interface SubscriberProblem {
  index: number;
  topic: string;
  lost: number;
  duplicates: number;
  reordered: number;
}

export interface ReportCommand {
  cmd: 'report';
  /** Publications sent on each topic in the step. */
  published: number;
}
/** The subscribers' account of a step, summed over them. */
export interface DeliveryAccount {
  lost: number;
  duplicates: number;
  reordered: number;
  subscribersWithLoss: number;
  subscribersWithDuplicates: number;
  subscribersReordered: number;
  /** Deliveries stamped with another step (late from an earlier one). */
  stale: number;
  /** The first few subscribers with a problem. */
  problems: SubscriberProblem[];
}

export interface RecordReport extends Counts, DeliveryAccount {
  subscribers: number;
  /** Deliveries without a readable stamp. */
  unstamped: number;
  /** hdr-histogram of intended-send-to-receive latency in µs, compressed base64. */
  histogram: string;
  samples: number;
}

export interface SampleReportCommand {
  cmd: 'sample-report';
  published: number;
}
export interface SampleReport {
  clients: number;
  /** Clients that got exactly 0 .. published-1 of their topic, in order. */
  exact: number;
  /** One line per client that did not, naming what it got wrong. */
  problems: string[];
}

export interface TopUpCommand {
  cmd: 'top-up';
}

/**
 * Workload D: from now on a subscriber the server closes reconnects at once and rejoins (with its
 * position when it opted in to recovery), retrying until `deadlineMs` from now.
 */
export interface StormArmCommand {
  cmd: 'storm-arm';
  deadlineMs: number;
}
export interface StormCountsCommand {
  cmd: 'storm-counts';
}
export interface StormCounts {
  /** Subscribers closed by the server since the arm, and those of them joined again. */
  cut: number;
  back: number;
}
export interface StormReportCommand {
  cmd: 'storm-report';
  published: number;
}
export type { StormShardReport };

export interface CloseCommand {
  cmd: 'close';
}

export type Command =
  | SubscribeCommand
  | PublishersCommand
  | SamplersCommand
  | RecordCommand
  | PublishCommand
  | CountsCommand
  | ReportCommand
  | SampleReportCommand
  | TopUpCommand
  | StormArmCommand
  | StormCountsCommand
  | StormReportCommand
  | CloseCommand;

export interface Request {
  id: number;
  command: Command;
}
export type Response = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
