import type { Policy } from '../types.js';
import { gracePeriodPolicy, pdbPolicy } from './availability.js';
import { imagesPolicy, probesPolicy, resourcesPolicy, securityContextPolicy } from './containers.js';
import { networkPoliciesPolicy } from './network.js';
import { referencesPolicy, serviceSelectorsPolicy, targetsPolicy } from './references.js';

export { checkArgoCd, overlayForPath } from './argocd.js';
export { isDefaultDeny } from './network.js';
export { defaultDrainWindowMs, replicaCeiling } from './availability.js';

/** Every per-target review policy, in the order problems are reported. */
export const policies: Policy[] = [
  resourcesPolicy,
  probesPolicy,
  securityContextPolicy,
  imagesPolicy,
  networkPoliciesPolicy,
  pdbPolicy,
  serviceSelectorsPolicy,
  referencesPolicy,
  targetsPolicy,
  gracePeriodPolicy,
];

export {
  gracePeriodPolicy,
  imagesPolicy,
  networkPoliciesPolicy,
  pdbPolicy,
  probesPolicy,
  referencesPolicy,
  resourcesPolicy,
  securityContextPolicy,
  serviceSelectorsPolicy,
  targetsPolicy,
};
