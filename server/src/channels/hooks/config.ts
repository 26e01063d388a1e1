/**
 * Backend hook settings (docs/hooks.md) and their parser. Like store/config.ts it takes an env-like
 * record, so server/src/config.ts stays the only reader of the environment.
 */
import type { HookName } from './client.js';
import { envReader, signedEndpoint, type Env } from '../../env/reader.js';

export interface HooksConfig {
  /** HOOKS_URL: where every hook is POSTed (http or https). */
  url: string;
  /** HOOKS_SECRET: the HMAC-SHA256 key requests are signed with (32+ characters). */
  secret: string;
  /** HOOKS_TOPICS: topic patterns (`game:*`) whose joins and pushes go to the backend. */
  topics: string[];
  /** HOOKS_EVENTS: which hooks are called (connect, join, push, publish); default join,push. */
  events: Set<HookName>;
  /** HOOKS_TIMEOUT_MS, default 2000. */
  timeoutMs: number;
  /** HOOKS_CONCURRENCY: calls in flight per node, default 64. */
  concurrency: number;
  /** HOOKS_MAX_RESPONSE_BYTES, default 65536. */
  maxResponseBytes: number;
  /** HOOKS_BREAKER_FAILURES: consecutive failures that open the breaker, default 5. */
  breakerFailures: number;
  /** HOOKS_BREAKER_COOLDOWN_MS: how long it stays open before one trial call, default 10000. */
  breakerCooldownMs: number;
}

export const hooksDefaults = {
  timeoutMs: 2000,
  concurrency: 64,
  maxResponseBytes: 64 * 1024,
  breakerFailures: 5,
  breakerCooldownMs: 10_000,
} as const;

const HOOK_NAMES: readonly HookName[] = ['connect', 'join', 'push', 'publish'];
const DEFAULT_HOOKS = 'join,push';

/**
 * Reads HOOKS_* from `env`. Unset HOOKS_URL means no hooks (`config` undefined). Never throws:
 * each bad variable adds one line to `problems` naming the variable and the fix.
 */
export function parseHooksConfig(env: Env): { config?: HooksConfig; problems: string[] } {
  const problems: string[] = [];
  const { read, int } = envReader(env, problems);
  const endpoint = signedEndpoint(env, problems, 'HOOKS', ['HOOKS_TOPICS'], 'your backend');
  if (!endpoint) return { problems };
  const { url, secret } = endpoint;
  const topics = (read('HOOKS_TOPICS') ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  if (topics.length === 0) {
    problems.push('HOOKS_URL needs HOOKS_TOPICS: the topic patterns to hook, e.g. game:*,counter:*');
  }
  for (const t of topics) {
    if (t.includes('*') && t.indexOf('*') !== t.length - 1) {
      problems.push(
        `HOOKS_TOPICS: ${JSON.stringify(t)} has "*" before its end: only a trailing * is allowed`,
      );
    }
  }
  const events = new Set<HookName>();
  for (const e of (read('HOOKS_EVENTS') ?? DEFAULT_HOOKS).split(',').map((s) => s.trim())) {
    if ((HOOK_NAMES as readonly string[]).includes(e)) events.add(e as HookName);
    else problems.push(`HOOKS_EVENTS: ${JSON.stringify(e)} is not a hook: use ${HOOK_NAMES.join(', ')}`);
  }
  return {
    problems,
    config: {
      url,
      secret,
      topics,
      events,
      timeoutMs: int('HOOKS_TIMEOUT_MS', hooksDefaults.timeoutMs, 10, 60_000),
      concurrency: int('HOOKS_CONCURRENCY', hooksDefaults.concurrency, 1, 100_000),
      maxResponseBytes: int(
        'HOOKS_MAX_RESPONSE_BYTES',
        hooksDefaults.maxResponseBytes,
        1024,
        16 * 1024 * 1024,
      ),
      breakerFailures: int('HOOKS_BREAKER_FAILURES', hooksDefaults.breakerFailures, 1, 1000),
      breakerCooldownMs: int('HOOKS_BREAKER_COOLDOWN_MS', hooksDefaults.breakerCooldownMs, 100, 600_000),
    },
  };
}
