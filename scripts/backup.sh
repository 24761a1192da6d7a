#!/bin/sh
# Back up Yuyue's PostgreSQL database: pg_dump custom format (-Fc) of $DATABASE_URL.
#
#   make backup                                    backups/yuyue-<UTC time>.dump
#   make backup BACKUP_FILE=/srv/backups/x.dump    that file
#   make backup ENV_FILE=.env.stack                DATABASE_URL from that file
#
# DATABASE_URL comes from the environment, else from $ENV_FILE (default .env, the file the
# settings read). The dump is written beside its final name and renamed only once pg_dump
# finished and pg_restore can read its table of contents, so a file with the final name is
# always a whole dump. It holds patients' personal data: it is created readable by its
# owner only (umask 077); keep it so. A backup is proven only by a restore: see
# scripts/restore.sh and docs/operations.md ("Backups and restore").
set -eu

SCRIPT=backup
# shellcheck source=scripts/_common.sh
. "$(dirname "$0")/_common.sh"

ENV_FILE=${ENV_FILE:-.env}
url=${DATABASE_URL:-}
if [ -z "$url" ] && [ -f "$ENV_FILE" ]; then
	url=$(env_file_value DATABASE_URL "$ENV_FILE")
fi
[ -n "$url" ] || die "DATABASE_URL is not set (nor in $ENV_FILE): nothing to back up"
src=$(pg_url "$url") || die "DATABASE_URL is not PostgreSQL (${url%%:*}://...): refusing." \
	"This backs up PostgreSQL only; the SQLite development database is the file db.sqlite3"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
file=${BACKUP_FILE:-backups/yuyue-$stamp.dump}
mkdir -p "$(dirname "$file")"
[ ! -e "$file" ] || die "$file already exists: refusing to overwrite it (choose another BACKUP_FILE)"

umask 077
partial="$file.partial"
trap 'rm -f "$partial"' EXIT
printf 'backup: dumping %s\n' "$(masked "$src")"
pg_dump --no-password --format=custom --file="$partial" --dbname="$src"
pg_restore --list "$partial" >/dev/null || die "the dump cannot be read back: kept nothing"
mv "$partial" "$file"
trap - EXIT

bytes=$(wc -c <"$file" | tr -d ' ')
printf 'backup: %s (%s bytes, %s)\n' "$file" "$bytes" "$(du -h "$file" | cut -f1)"
