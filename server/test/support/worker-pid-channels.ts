// A CHANNELS_MODULE for the WORKERS e2e tests: a push on `whoami:*` is answered with the pid of the
// process that holds the connection, so a test knows which worker its client landed on.
import type { ChannelHandler } from '../../src/channels/channel.js';
import type { Route } from '../../src/channels/router.js';

const whoami: ChannelHandler = {
  join: () => ({ ok: true, assigns: {} }),
  handleIn: () => ({ ok: true, response: { pid: process.pid } }),
};

export const routes: Route[] = [{ pattern: 'whoami:*', handler: whoami }];
