/**
 * Webhook settings (docs/webhooks.md) and their parser. Like channels/hooks/config.ts it takes an
 * env-like record, so server/src/config.ts stays the only reader of the environment.
 */
import { isValidTopicPattern } from '../auth/topic-pattern.js';
import { envReader, signedEndpoint, type Env } from '../env/reader.js';

/** The events a webhook can carry (the `event` field of every request). */
export type WebhookEventName = 'channel_occupied' | 'channel_vacated' | 'member_added' | 'member_removed';

/** Every event a webhook body can name: the four above, and `client_event` (WEBHOOK_CLIENT_EVENTS). */
export type DeliveredEventName = WebhookEventName | 'client_event';

export const WEBHOOK_EVENT_NAMES: readonly WebhookEventName[] = [
  'channel_occupied',
  'channel_vacated',
  'member_added',
  'member_removed',
];

export interface WebhooksConfig {
  /** WEBHOOK_URL: where every event is POSTed (http or https). */
  url: string;
  /** WEBHOOK_SECRET: the HMAC-SHA256 key requests are signed with (32+ characters). */
  secret: string;
  /** WEBHOOK_EVENTS: which events are sent; default all four. */
  events: Set<WebhookEventName>;
  /** WEBHOOK_CLIENT_EVENTS: topic patterns whose accepted client pushes are sent as `client_event`; none by default. */
  clientEventTopics: string[];
  /** WEBHOOK_VACATE_DEBOUNCE_MS: how long a channel (or a presence key) must stay empty before it is vacated (removed). */
  vacateDebounceMs: number;
  /** WEBHOOK_TIMEOUT_MS: bound on one delivery attempt. */
  timeoutMs: number;
  /** WEBHOOK_MAX_ATTEMPTS: attempts per event, the first included. */
  maxAttempts: number;
  /** WEBHOOK_RETRY_BASE_MS: the first retry's delay; it doubles per attempt, with jitter. */
  retryBaseMs: number;
  /** WEBHOOK_RETRY_MAX_MS: cap on one retry delay (and on a receiver's Retry-After). */
  retryMaxMs: number;
  /** WEBHOOK_QUEUE_MAX: events waiting or in flight on this node; one more is dropped and counted. */
  queueMax: number;
  /** WEBHOOK_QUEUE_MAX_BYTES: bodies waiting or in flight on this node, in bytes. */
  queueMaxBytes: number;
  /** WEBHOOK_CONCURRENCY: deliveries in flight at once on this node. */
  concurrency: number;
}

export const webhooksDefaults = {
  vacateDebounceMs: 5000,
  timeoutMs: 5000,
  maxAttempts: 8,
  retryBaseMs: 500,
  retryMaxMs: 60_000,
  queueMax: 10_000,
  queueMaxBytes: 16 * 1024 * 1024,
  concurrency: 8,
} as const;

/**
 * Reads WEBHOOK_* from `env`. Unset WEBHOOK_URL means no webhooks (`config` undefined). Never
 * throws: each bad variable adds one line to `problems` naming the variable and the fix.
 */
export function parseWebhooksConfig(env: Env): { config?: WebhooksConfig; problems: string[] } {
  const problems: string[] = [];
  const { read, int } = envReader(env, problems);
  const endpoint = signedEndpoint(
    env,
    problems,
    'WEBHOOK',
    ['WEBHOOK_EVENTS', 'WEBHOOK_CLIENT_EVENTS'],
    'your receiver',
  );
  if (!endpoint) return { problems };
  const { url, secret } = endpoint;
  const events = new Set<WebhookEventName>();
  for (const e of (read('WEBHOOK_EVENTS') ?? WEBHOOK_EVENT_NAMES.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    if ((WEBHOOK_EVENT_NAMES as readonly string[]).includes(e)) events.add(e as WebhookEventName);
    else if (e === 'client_event')
      problems.push(
        'WEBHOOK_EVENTS: "client_event" is not set here: list the topics whose pushes to send in WEBHOOK_CLIENT_EVENTS (e.g. game:*)',
      );
    else
      problems.push(
        `WEBHOOK_EVENTS: ${JSON.stringify(e)} is not an event: use ${WEBHOOK_EVENT_NAMES.join(', ')}`,
      );
  }
  if (events.size === 0)
    problems.push(`WEBHOOK_EVENTS is empty: list some of ${WEBHOOK_EVENT_NAMES.join(', ')}`);
  const clientEventTopics = (read('WEBHOOK_CLIENT_EVENTS') ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  for (const t of clientEventTopics.filter((p) => !isValidTopicPattern(p)))
    problems.push(
      `WEBHOOK_CLIENT_EVENTS: ${JSON.stringify(t)} is not a topic pattern: at most 255 characters, "*" only at the end (e.g. game:*,chat:lobby)`,
    );
  const d = webhooksDefaults;
  const retryBaseMs = int('WEBHOOK_RETRY_BASE_MS', d.retryBaseMs, 10, 600_000);
  const retryMaxMs = int('WEBHOOK_RETRY_MAX_MS', d.retryMaxMs, 10, 3_600_000);
  if (retryMaxMs < retryBaseMs) {
    problems.push('WEBHOOK_RETRY_MAX_MS is below WEBHOOK_RETRY_BASE_MS: raise it or lower the base');
  }
  return {
    problems,
    config: {
      url,
      secret,
      events,
      clientEventTopics: clientEventTopics.filter((p) => isValidTopicPattern(p)),
      vacateDebounceMs: int('WEBHOOK_VACATE_DEBOUNCE_MS', d.vacateDebounceMs, 0, 600_000),
      timeoutMs: int('WEBHOOK_TIMEOUT_MS', d.timeoutMs, 10, 120_000),
      maxAttempts: int('WEBHOOK_MAX_ATTEMPTS', d.maxAttempts, 1, 100),
      retryBaseMs,
      retryMaxMs,
      queueMax: int('WEBHOOK_QUEUE_MAX', d.queueMax, 1, 1_000_000),
      queueMaxBytes: int('WEBHOOK_QUEUE_MAX_BYTES', d.queueMaxBytes, 1024, 1024 * 1024 * 1024),
      concurrency: int('WEBHOOK_CONCURRENCY', d.concurrency, 1, 1000),
    },
  };
}
