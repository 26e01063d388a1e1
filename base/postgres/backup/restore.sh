#!/bin/sh
# Restores one backup into the history database (docs/operations.md#restore):
#   restore.sh /backups/switchboard-<stamp>.dump
# Tables the backup holds are dropped and recreated (--clean) in one transaction: a failure leaves
# the database as it was. The connection comes from libpq's environment, as for backup.sh.
set -eu
file="${1:-}"
if [ -z "$file" ] || [ ! -f "$file" ]; then
  echo "restore: give the backup file, e.g. restore.sh /backups/$(ls -1 "${BACKUP_DIR:-/backups}" 2>/dev/null | grep -E '^switchboard-.*\.dump$' | sort | tail -n 1)" >&2
  exit 2
fi
pg_restore --list "$file" > /dev/null
pg_restore --clean --if-exists --no-owner --no-privileges --exit-on-error --single-transaction \
  --dbname="${PGDATABASE:?set PGDATABASE}" "$file"
echo "restore: restored $file into $PGDATABASE"
