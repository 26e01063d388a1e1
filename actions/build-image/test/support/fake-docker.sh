#!/usr/bin/env bash
# Stand-in for the docker CLI with the buildx plugin (no Docker daemon can run here). It answers
# `buildx version`, records `buildx build` arguments in $FAKE_DOCKER_ARGS and writes the metadata file
# buildx would (containerimage.digest), and records `login` with the password it read from stdin.
set -euo pipefail
case "${1:-} ${2:-}" in
  "buildx version")
    echo "github.com/docker/buildx v0.0.0-fake"
    ;;
  "buildx build")
    printf '%s\n' "$@" >"${FAKE_DOCKER_ARGS:?}"
    metadata=""
    prev=""
    for arg in "$@"; do
      [ "$prev" = "--metadata-file" ] && metadata="$arg"
      prev="$arg"
    done
    printf '{"buildx.build.ref":"fake/fake/x","containerimage.digest":"sha256:%s"}' "$(printf 'e%.0s' $(seq 64))" >"$metadata"
    ;;
  login\ *)
    printf '%s\n' "$@" >"${FAKE_DOCKER_LOGIN:?}"
    printf 'password=%s\n' "$(cat)" >>"$FAKE_DOCKER_LOGIN"
    echo "Login Succeeded"
    ;;
  *)
    echo "fake docker: unsupported: $*" >&2
    exit 1
    ;;
esac
