#!/bin/sh
# One logical backup of the history database (docs/operations.md#backups): pg_dump's custom format
# into BACKUP_DIR, checked with pg_restore --list before it counts, then only the newest BACKUP_KEEP
# are kept. The connection comes from libpq's environment (PGHOST, PGPORT, PGUSER, PGPASSWORD,
# PGDATABASE). The postgres image's own pg_dump runs it, so client and server versions match.
set -eu
dir="${BACKUP_DIR:-/backups}"
keep="${BACKUP_KEEP:-7}"
case "$keep" in '' | *[!0-9]* | 0) echo "backup: BACKUP_KEEP must be a whole number of 1 or more, not \"$keep\"" >&2; exit 2 ;; esac
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
partial="$dir/.switchboard-$stamp.dump.partial"
out="$dir/switchboard-$stamp.dump"
trap 'rm -f -- "$partial"' EXIT
pg_dump --format=custom --no-owner --no-privileges --file="$partial"
# A dump that pg_restore cannot read is not a backup.
pg_restore --list "$partial" > /dev/null
mv -- "$partial" "$out"
echo "backup: wrote $out ($(wc -c < "$out") bytes)"
# The names sort by time: keep the newest $keep.
ls -1 "$dir" | grep -E '^switchboard-[0-9]{8}T[0-9]{6}Z\.dump$' | sort -r | tail -n +"$((keep + 1))" |
  while read -r old; do
    rm -f -- "$dir/$old"
    echo "backup: removed $dir/$old (keeping the newest $keep)"
  done
