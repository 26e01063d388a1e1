import { TopicMatcher } from '../../auth/topic-pattern.js';
import type { ConnectHandler } from '../connect.js';
import type { PublishGate } from '../publish-gate.js';
import type { Route } from '../router.js';
import { HookClient } from './client.js';
import type { HooksConfig } from './config.js';
import { createConnectHook, createPublishHook } from './gates.js';
import { createHookChannel } from './hook-channel.js';

export interface Hooks {
  /** HOOKS_TOPICS, all served by one hook channel calling HOOKS_URL. */
  routes: Route[];
  /** The connect hook, when HOOKS_EVENTS names it. */
  connect?: ConnectHandler;
  /** The publish hook for POST /api/broadcast, when HOOKS_EVENTS names it. */
  publishGate?: PublishGate;
}

/** Everything HOOKS_* asks for, sharing one client (so one concurrency bound and one breaker). */
export function createHooks(config: HooksConfig, nodeId: string, presenceTopics: readonly string[]): Hooks {
  const client = new HookClient({ ...config, nodeId });
  const handler = createHookChannel(client, config.events, new TopicMatcher(presenceTopics));
  const hooks: Hooks = { routes: config.topics.map((pattern) => ({ pattern, handler })) };
  if (config.events.has('connect')) hooks.connect = createConnectHook(client);
  if (config.events.has('publish')) hooks.publishGate = createPublishHook(client, config.topics);
  return hooks;
}
