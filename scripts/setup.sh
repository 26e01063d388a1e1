#!/usr/bin/env bash
# Installs the Debian packages the tests need (real Redis, PostgreSQL, Prometheus and the two data store
# exporters, nginx, Chromium, and the container tools), then generates the git-ignored dev secrets.
# As root it runs apt-get; otherwise it prints exactly what is missing and how to install it.
set -euo pipefail
cd "$(dirname "$0")/.."

# command -> Debian package that provides it
declare -A needs=(
  [redis-server]=redis-server
  [redis-cli]=redis-tools
  [prometheus]=prometheus
  [promtool]=prometheus
  [prometheus-postgres-exporter]=prometheus-postgres-exporter
  [prometheus-redis-exporter]=prometheus-redis-exporter
  [nginx]=nginx-light
  [chromium]=chromium
  [buildah]=buildah
  [podman]=podman
  [skopeo]=skopeo
  [docker-registry]=docker-registry
  [runc]=runc
  [jq]=jq
  [git]=git
)
missing=()
for cmd in "${!needs[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${needs[$cmd]}")
done
# PostgreSQL's server binaries live outside PATH on Debian.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u | sed '/^$/d')

if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    timeout 900 apt-get update -qq
    timeout 1800 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
# Debian's postinst may start services we do not want; tests start their own on free ports.
for svc in redis-server postgresql nginx prometheus prometheus-postgres-exporter prometheus-redis-exporter \
  docker-registry; do
  command -v service >/dev/null 2>&1 && service "$svc" stop >/dev/null 2>&1 || true
done

bash scripts/gen-dev-secrets.sh
echo "setup: ok"
