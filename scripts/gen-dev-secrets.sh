#!/usr/bin/env bash
# Generates dev-only secrets into git-ignored files (never committed). Idempotent: keeps existing ones.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p base/server/secrets
f=base/server/secrets/dev.env
if [[ ! -s $f ]]; then
  umask 077
  {
    echo "JWT_SECRET=$(head -c 32 /dev/urandom | base64 | tr -d '\n=+/')"
    echo "API_TOKEN=$(head -c 32 /dev/urandom | base64 | tr -d '\n=+/')"
    echo "POSTGRES_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '\n=+/')"
  } >"$f"
  echo "gen-dev-secrets: wrote $f"
fi
