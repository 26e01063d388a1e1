import type { Policy } from '../types.js';
import { gracePeriodPolicy, pdbPolicy } from './availability.js';
import { imagesPolicy, probesPolicy, resourcesPolicy, securityContextPolicy } from './containers.js';
import { networkPoliciesPolicy } from './network.js';
import { opsPortPolicy } from './ops-port.js';
import { redisAuthPolicy } from './redis.js';
import { referencesPolicy, serviceSelectorsPolicy, targetsPolicy } from './references.js';
import { servedApisPolicy } from './served-apis.js';
import { k6Policy } from './k6.js';
import { argoSyncPolicy } from '../argocd-sync.js';
import { gatewayRoutesPolicy } from './gateway-routes.js';

export { checkArgoCd, overlayForPath } from './argocd.js';
export { isDefaultDeny } from './network.js';
export { defaultDrainWindowMs, replicaCeiling } from './availability.js';

/** Every per-target review policy, in the order problems are reported. */
export const policies: Policy[] = [
  servedApisPolicy,
  k6Policy,
  argoSyncPolicy,
  resourcesPolicy,
  probesPolicy,
  securityContextPolicy,
  imagesPolicy,
  networkPoliciesPolicy,
  pdbPolicy,
  serviceSelectorsPolicy,
  referencesPolicy,
  targetsPolicy,
  gatewayRoutesPolicy,
  gracePeriodPolicy,
  opsPortPolicy,
  redisAuthPolicy,
];

export { checkServedApis, servedApis } from './served-apis.js';
export { checkBundleDir, checkTestRuns, pinnedK6, type PinnedK6Modules } from './k6.js';

export { checkSyncOrder, placement, defaultReadinessNeeds } from '../argocd-sync.js';

export {
  gatewayRoutesPolicy,
  servedApisPolicy,
  k6Policy,
  argoSyncPolicy,
  gracePeriodPolicy,
  imagesPolicy,
  networkPoliciesPolicy,
  opsPortPolicy,
  pdbPolicy,
  probesPolicy,
  redisAuthPolicy,
  referencesPolicy,
  resourcesPolicy,
  securityContextPolicy,
  serviceSelectorsPolicy,
  targetsPolicy,
};
