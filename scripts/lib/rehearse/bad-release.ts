// A bad release that only production shows (issue 18 §3): the promoted image passes staging's gate, and
// after production's sync its pods refuse every join of one room -- as a release would that breaks
// on something only production has (its data, a flag, a tenant). The stand-in's pods run the working
// tree, so the "release" is a channel handler (CHANNELS_MODULE, docs/channels.md) that production's
// sync gives the pods of the promoted image only; the pods of the previous release, and those the
// rollback restores, run without it. Production's verification must fail join-success and nothing
// else: the other rooms keep connecting, publishing and delivering.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Fault } from './faults.js';

/** The room whose joins the bad release refuses: the load scenarios' first room (`<prefix>-0`). */
const refusedRoom = /-0$/;

/** The channel handler of the bad release, as a module the server loads at start-up. */
function moduleText(): string {
  return `// Written by npm run rehearse -- --fault bad-release: the promoted release refuses one room's joins.
const refused = ${String(refusedRoom)};
export const routes = [
  {
    pattern: (topic) => refused.test(topic),
    handler: {
      join: async () => ({ ok: false, reason: 'bad release: this room cannot be joined' }),
      handleIn: async () => ({ ok: false, reason: 'bad release' }),
    },
  },
];
`;
}

/** The pods' environment of the bad release: the module is written to `dir`. */
export function badReleaseEnv(dir: string): Record<string, { value: string; why: string }> {
  const file = join(dir, 'bad-release-channels.mjs');
  writeFileSync(file, moduleText());
  return {
    CHANNELS_MODULE: {
      value: file,
      why: '--fault bad-release: the promoted release refuses every join of one room (production only)',
    },
  };
}

/** `--fault bad-release`: nothing during staging's load; production's promotion carries it. */
export const badReleaseFault: Fault = {
  name: 'bad-release',
  description:
    "the promoted release refuses every join of one room, in production only: production's sync starts its pods with it",
  gateObjectives: ['join-success'],
  exclusive: true,
  afterPromotion: true,
  why:
    'every join of the refused room is answered with an error (switchboard_joins_total{result="error"}) and its ' +
    'clients retry each second, so far more than 0.1 % of the joins fail; the other rooms connect, publish and ' +
    'deliver as before',
  timing: () => ({ atMs: 0, holdMs: 0 }),
  inject() {
    // Production's sync gives the release to the pods (production-sync.ts); there is nothing to inject.
    return Promise.reject(new Error('bad-release is carried by the promoted release, not injected'));
  },
};
