#!/usr/bin/env bash
# Restore a backup made by backup.sh into the database DATABASE_URL names.
#
#   infra/scripts/restore.sh BACKUP_FILE
#
# Stop the web and worker processes first (docs/runbook.md, "Restore from backup").
#   PostgreSQL: pg_restore --clean --if-exists into the existing (possibly empty) database;
#               the grafana_reader grants are part of the dump's schema only if privileges were
#               kept, so re-run `sdc db upgrade` is not needed but the runbook re-grants them.
#   SQLite:     the backup replaces the database file (through SQLite's backup API, so the
#               WAL of the old file cannot leak into the restored one).
set -euo pipefail

in=${1:?usage: restore.sh BACKUP_FILE}
[ -f "$in" ] || { echo "restore: no such file: $in" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
url=${DATABASE_URL:-}

case "$url" in
  postgres://*|postgresql://*|postgresql+psycopg://*)
    pgurl=$(printf '%s' "$url" | sed -E 's#^postgres(ql)?(\+psycopg)?://#postgresql://#')
    pg_restore --clean --if-exists --no-owner --no-privileges --exit-on-error --dbname "$pgurl" "$in"
    ;;
  ""|sqlite:///*)
    if [ -z "$url" ]; then
      db="${SDC_INSTANCE_DIR:-$root/instance}/sdc.db"
    else
      db=${url#sqlite:///}
    fi
    mkdir -p "$(dirname "$db")"
    python3 - "$in" "$db" <<'PY'
import sqlite3, sys
src = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
dst = sqlite3.connect(sys.argv[2])
with dst:
    src.backup(dst)
dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
dst.close(); src.close()
PY
    ;;
  *)
    echo "restore: unsupported DATABASE_URL scheme: ${url%%:*}" >&2; exit 2 ;;
esac
echo "restore: restored $in"
