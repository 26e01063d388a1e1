#!/usr/bin/env bash
# Environments only move forward (docs/pipeline.md, "Concurrency and order"). Run by deploy.yml in
# each environment's job, inside its concurrency group, before anything is rendered:
#   1. fetch the deploy branch
#   2. read the Source-Commit trailer of the newest commit that changed rendered/<environment>
#   3. deploy=false when that commit already contains this one (a newer run got there first, e.g. its
#      build finished sooner); deploy=true otherwise, also when there is no render yet or when the
#      history cannot tell (a rewritten main): then the newest run wins as before.
# Usage: scripts/deploy-order.sh <environment>; env DEPLOY_BRANCH (default deploy), DEPLOY_REMOTE
# (default origin; the rehearsal points it at its throwaway remote), GH_TOKEN (read access, for a
# checkout made with persist-credentials: false), GITHUB_SHA (default HEAD), GITHUB_OUTPUT (default
# stdout). Needs a checkout with main's history (fetch-depth: 0). A remote it cannot read is an
# error, never "no deploy branch": the check fails closed.
set -euo pipefail

environment=${1:?usage: deploy-order.sh <environment>}
[[ "$environment" =~ ^[a-z0-9-]+$ ]] || { echo "deploy-order: bad environment name" >&2; exit 2; }
branch=${DEPLOY_BRANCH:-deploy}
remote=${DEPLOY_REMOTE:-origin}
sha=${GITHUB_SHA:-$(git rev-parse HEAD)}
out=${GITHUB_OUTPUT:-/dev/stdout}

decide() {
  echo "deploy=$1" >> "$out"
  echo "deploy-order: $environment: deploy=$1 ($2)" >&2
}

gitr() {
  if [ -n "${GH_TOKEN:-}" ]; then
    # The token as actions/checkout passes it, for this command only (never written to .git/config).
    local auth
    auth=$(printf 'x-access-token:%s' "$GH_TOKEN" | base64 | tr -d '\n')
    git -c "http.extraheader=AUTHORIZATION: basic $auth" "$@"
  else
    git "$@"
  fi
}

status=0
gitr ls-remote --exit-code --heads "$remote" "refs/heads/$branch" > /dev/null || status=$?
if [ "$status" = 2 ]; then
  decide true "no deploy branch yet"
  exit 0
elif [ "$status" != 0 ]; then
  echo "deploy-order: cannot read $branch from $remote (exit $status)" >&2
  exit 1
fi
# FETCH_HEAD only: no remote-tracking ref of the checkout is changed.
gitr fetch --quiet "$remote" "refs/heads/$branch"
tip=$(git rev-parse FETCH_HEAD)
last=$(git log -1 --format='%(trailers:key=Source-Commit,valueonly)' "$tip" -- "rendered/$environment" | tr -d '[:space:]')
if [ -z "$last" ]; then
  decide true "rendered/$environment has no render yet"
elif [ "$last" = "$sha" ]; then
  decide true "a re-run of the commit it runs"
elif git merge-base --is-ancestor "$sha" "$last" 2>/dev/null; then
  decide false "it already runs $last, which contains $sha"
else
  decide true "its last render came from $last, an older commit"
fi
