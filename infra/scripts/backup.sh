#!/usr/bin/env bash
# Back up the System Design Coach database to a file.
#
#   infra/scripts/backup.sh OUTPUT_FILE
#
# The database is the one DATABASE_URL names (as for the app); unset means the embedded default,
# instance/sdc.db (or $SDC_INSTANCE_DIR/sdc.db).
#   PostgreSQL: pg_dump custom format (compressed; restore with restore.sh or pg_restore).
#   SQLite:     an online, consistent copy through SQLite's backup API (safe while the app runs).
set -euo pipefail

out=${1:?usage: backup.sh OUTPUT_FILE}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
url=${DATABASE_URL:-}

case "$url" in
  postgres://*|postgresql://*|postgresql+psycopg://*)
    pgurl=$(printf '%s' "$url" | sed -E 's#^postgres(ql)?(\+psycopg)?://#postgresql://#')
    pg_dump --format=custom --no-owner --no-privileges --file "$out" "$pgurl"
    ;;
  ""|sqlite:///*)
    if [ -z "$url" ]; then
      db="${SDC_INSTANCE_DIR:-$root/instance}/sdc.db"
    else
      db=${url#sqlite:///}
    fi
    [ -f "$db" ] || { echo "backup: no SQLite database at $db" >&2; exit 2; }
    python3 - "$db" "$out" <<'PY'
import sqlite3, sys
src = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
dst = sqlite3.connect(sys.argv[2])
with dst:
    src.backup(dst)
dst.close(); src.close()
PY
    ;;
  *)
    echo "backup: unsupported DATABASE_URL scheme: ${url%%:*}" >&2; exit 2 ;;
esac
echo "backup: wrote $out ($(wc -c < "$out") bytes)"
