// Production's own clients while the production job runs. Production is verified on real traffic, not
// a load test (reusable-deploy.yml): the rehearsal drives that traffic itself, from staging's load
// test's end (so the verification's baseline -- the window before production's sync -- has clients)
// until the workflow is over. Back-to-back rounds of the fan-out scenario with short sessions, so joins
// and connects go on through a rolling update and a rollback: a client the drain closes comes back.
import { runScenario } from '../../../loadtests/src/runner.js';
import type { NeighbourRunning } from './neighbour.js';

/**
 * One round; the clients' sessions end and start again within it (SESSION). Short sessions, so that
 * each client comes back through the edge often: a canary judged over 20 s must see joins of every
 * room (--fault bad-release refuses one of five, two clients of six). With 5 s sessions a fresh-clone
 * run's canary saw none of its joins and passed the bad release.
 */
const roundDuration = '15s';
const session = '2s';

/** The traffic while it runs, and what it did once stopped. */
export interface ProductionTraffic {
  vus: number;
  startedAt: string;
  /** Stops after the current round; resolves with the rounds run and whether each passed its thresholds. */
  stop(): Promise<{ rounds: number; failedRounds: number; endedAt: string }>;
}

/** Starts production's clients through its edge, with a token of its own; `log` gets one line per round. */
export function startProductionTraffic(
  neighbour: NeighbourRunning,
  opts: { scenario: string; vus: number; log: (line: string) => void },
): ProductionTraffic {
  let stopping = false;
  let rounds = 0;
  let failedRounds = 0;
  const startedAt = new Date().toISOString();
  const loop = (async () => {
    while (!stopping) {
      try {
        const summary = await runScenario({
          scenario: opts.scenario,
          url: neighbour.socketUrl,
          token: neighbour.token,
          vus: opts.vus,
          duration: roundDuration,
          env: { SESSION: session },
        });
        // Its thresholds decide nothing: production's verification reads the server's series.
        if (!summary.ok) failedRounds++;
      } catch (err) {
        // A round that could not run (the edge restarting, say) is counted; the next one tries again.
        failedRounds++;
        opts.log(`${neighbour.environment}'s clients: a round failed: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
      rounds++;
    }
  })();
  opts.log(
    `${neighbour.environment}'s clients: ${opts.vus} VUs of ${opts.scenario}, sessions of ${session}, until the workflow ends`,
  );
  return {
    vus: opts.vus,
    startedAt,
    stop: async () => {
      stopping = true;
      await loop;
      return { rounds, failedRounds, endedAt: new Date().toISOString() };
    },
  };
}
