#!/bin/sh
# Restore a Yuyue backup (scripts/backup.sh, pg_dump -Fc) into a fresh PostgreSQL database.
#
#   make restore BACKUP_FILE=backups/yuyue-....dump RESTORE_DATABASE_URL=postgres://.../yuyue_check
#   make restore BACKUP_FILE=... FORCE=1           drop a non-empty target and restore into it
#
# The target is RESTORE_DATABASE_URL, else DATABASE_URL (environment, else $ENV_FILE,
# default .env). A missing target database is created (UTF8, from template0) through the
# server's `postgres` database (MAINTENANCE_DB to use another); an existing empty one is
# used as it is; a non-empty one is refused unless FORCE=1, which drops and recreates it
# (and fails while anything is connected to it: stop web, worker and beat first).
# pg_restore runs --no-owner (objects belong to the role in the URL) --exit-on-error
# --single-transaction (a failed restore leaves the new database empty), then ANALYZE, then
# the row counts of the main tables are printed: compare them with the source's.
set -eu

SCRIPT=restore
# shellcheck source=scripts/_common.sh
. "$(dirname "$0")/_common.sh"

# psql for scripts: no ~/.psqlrc, no prompt for a password, stop at the first error.
sql() {
	psql -X -q -A -t --no-password -v ON_ERROR_STOP=1 "$@"
}

file=${BACKUP_FILE:-}
[ -n "$file" ] || die "set BACKUP_FILE=<a .dump made by make backup>"
[ -r "$file" ] || die "$file: no such file (or not readable)"
pg_restore --list "$file" >/dev/null 2>&1 || die "$file is not a pg_dump custom-format archive"

ENV_FILE=${ENV_FILE:-.env}
url=${RESTORE_DATABASE_URL:-${DATABASE_URL:-}}
if [ -z "$url" ] && [ -f "$ENV_FILE" ]; then
	url=$(env_file_value DATABASE_URL "$ENV_FILE")
fi
[ -n "$url" ] || die "set RESTORE_DATABASE_URL=postgres://user@host:5432/<new database name>"
target=$(pg_url "$url") || die "the target is not PostgreSQL (${url%%:*}://...): refusing"

# postgresql://user:pass@host:port/name?options -> name, and the same server's maintenance DB.
base=${target%%\?*}
options=${target#"$base"}
case ${base#*://} in
*/?*) ;;
*) die "the target URL names no database: $(masked "$target")" ;;
esac
db=${base##*/}
case $db in
*%* | */*) die "use a plain database name in the target URL (got $db)" ;;
esac
admin="${base%/*}/${MAINTENANCE_DB:-postgres}$options"

exists=$(printf "select count(*) from pg_database where datname = :'db';\n" |
	sql -v db="$db" -d "$admin")
if [ "$exists" = 1 ]; then
	# Any table, view, sequence or function outside the system schemas makes it non-empty.
	objects=$(sql -d "$target" -c "
		select (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
		        where n.nspname <> 'information_schema' and n.nspname !~ '^pg_')
		     + (select count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
		        where n.nspname <> 'information_schema' and n.nspname !~ '^pg_')")
	if [ "$objects" != 0 ]; then
		[ "${FORCE:-0}" = 1 ] || die "database $db already holds $objects objects: refusing to" \
			"overwrite it. Restore into a new database (RESTORE_DATABASE_URL=.../<new name>)," \
			"or FORCE=1 to drop $db and restore into it"
		printf 'restore: FORCE=1: dropping database %s\n' "$db"
		printf 'drop database :"db";\n' | sql -v db="$db" -d "$admin"
		exists=0
	fi
fi
if [ "$exists" != 1 ]; then
	printf 'restore: creating database %s\n' "$db"
	printf "create database :\"db\" template template0 encoding 'UTF8';\n" |
		sql -v db="$db" -d "$admin"
fi

printf 'restore: %s -> %s\n' "$file" "$(masked "$target")"
pg_restore --no-password --no-owner --exit-on-error --single-transaction \
	--dbname="$target" "$file"
sql -d "$target" -c "analyze"

printf 'restore: done. Rows in the main tables:\n'
sql -F ' ' -d "$target" -c "
	select rpad(t.name, 32, ' '),
	       (xpath('/row/n/text()', query_to_xml(format('select count(*) as n from %I', t.name),
	                                             false, true, '')))[1]::text
	from unnest(array[
	    'patients_account', 'patients_patient', 'clinics_department', 'clinics_doctor',
	    'clinics_session', 'clinics_slot', 'clinics_quota', 'booking_booking',
	    'booking_waitlistentry', 'notifications_outboxmessage', 'notifications_reminder',
	    'auditlog_logentry', 'django_migrations']) with ordinality as t(name, i)
	where to_regclass(t.name) is not null
	order by t.i"
