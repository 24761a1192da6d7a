# Shared by backup.sh and restore.sh: sourced, never run.
# shellcheck shell=sh

die() {
	printf '%s: %s\n' "$SCRIPT" "$*" >&2
	exit 1
}

# The value of NAME in an env file (KEY=value lines; the last one wins; quotes dropped).
env_file_value() {
	sed -n "s/^[[:space:]]*\(export[[:space:]][[:space:]]*\)\{0,1\}$1[[:space:]]*=[[:space:]]*//p" "$2" |
		tail -n 1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'\$/\\1/"
}

# A libpq URL for a PostgreSQL DATABASE_URL (django-environ's schemes), or failure.
pg_url() {
	case $1 in
	postgres://* | postgresql://* | pgsql://* | psql://* | postgis://*)
		printf 'postgresql://%s\n' "${1#*://}"
		;;
	*) return 1 ;;
	esac
}

# The URL with its password hidden, for printing.
masked() {
	printf '%s\n' "$1" | sed 's#^\([a-z]*://[^:@/]*\):[^@/]*@#\1:***@#'
}
