#!/usr/bin/env bash
# Generates dev-only secrets into git-ignored files (never committed). Idempotent: keeps existing
# values and adds only the keys a file from an older checkout lacks (e.g. REDIS_PASSWORD).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p base/server/secrets
f=base/server/secrets/dev.env
umask 077
touch "$f"
added=""
for key in JWT_SECRET API_TOKEN POSTGRES_PASSWORD REDIS_PASSWORD; do
  if ! grep -q "^$key=" "$f"; then
    # Alphanumeric: safe in URLs (DATABASE_URL) and on redis-server's command line.
    echo "$key=$(head -c 32 /dev/urandom | base64 | tr -d '\n=+/')" >>"$f"
    added="$added $key"
  fi
done
if [[ -n $added ]]; then echo "gen-dev-secrets: wrote$added to $f"; fi
