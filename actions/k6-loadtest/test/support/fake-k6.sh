#!/usr/bin/env bash
# Stand-in for the k6 binary, which cannot be installed here: takes `k6 run [-e KEY=VALUE]... <bundle>.js`
# exactly as the action calls k6, and runs that scenario on the Node runner's CLI with the same -e flags
# and environment (TOKEN comes from the environment, as k6's __ENV would have it). Exit codes match k6's
# (0, 99 thresholds failed, 104 bad configuration). Records its arguments in $FAKE_K6_ARGS.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../../../.." && pwd)"
printf '%s\n' "$@" >"${FAKE_K6_ARGS:-/dev/null}"
if [ "${1:-}" != run ]; then
  echo "fake k6: only 'run' is supported" >&2
  exit 2
fi
shift
args=()
bundle=""
while [ $# -gt 0 ]; do
  case "$1" in
    -e) args+=(-e "$2"); shift 2 ;;
    --no-color | --quiet) shift ;;
    -*) echo "fake k6: unsupported flag $1" >&2; exit 2 ;;
    *) bundle="$1"; shift ;;
  esac
done
[ -f "$bundle" ] || { echo "fake k6: no such script $bundle" >&2; exit 107; }
cd "$repo"
exec node --import tsx loadtests/src/cli.ts "$(basename "$bundle" .js)" --quiet "${args[@]}"
