# Yuyue. Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-dev migrate demo serve lint format check-deploy messages bench clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PIP) install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo

## make run: install, migrate, load the demo, serve on 127.0.0.1:8000 (SQLite, tasks in-process)
run: demo
	@echo ""
	@echo "  Yuyue is running:"
	@echo "    patients:  http://$(HOST):$(PORT)/"
	@echo "    staff:     http://$(HOST):$(PORT)/admin/   (user: admin  password: yuyue-demo-2026;"
	@echo "               roles: desk, ops, doctor with the same password)"
	@echo "    a waiting-room board: http://$(HOST):$(PORT)/board/3-01/ (each room: /board/<room code>/)"
	@echo "    API docs:  http://$(HOST):$(PORT)/api/v1/docs"
	@echo "    sign-in codes: printed below by the console SMS backend (\"SMS to ***1234: ...\"), no SMS is sent"
	@echo ""
	$(PY) manage.py runserver $(HOST):$(PORT)

## make test: install what the tests need and run the whole suite
test: install-dev
	$(PY) -m pytest

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## check-deploy: production settings must pass Django's deployment checks cleanly
check-deploy: install
	DJANGO_DEBUG=false \
	DJANGO_SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	YUYUE_SMS_BACKEND=http YUYUE_SMS_HTTP_URL=https://sms.invalid/v1/messages \
	DATABASE_URL="$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/yuyue}" \
	REDIS_URL="$${REDIS_URL:-redis://127.0.0.1:6379/0}" \
	DJANGO_ALLOWED_HOSTS=yuyue.example.org \
	$(PY) manage.py check --deploy --fail-level WARNING

messages: install
	$(PY) manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv --ignore=tests
	$(PY) manage.py compilemessages -l zh_Hans --ignore=.venv

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles

## make bench: the 07:00 rush over HTTP on the real stack — gunicorn (production settings),
## a Celery worker, PostgreSQL, Redis — against the database floor (pgbench), the framework
## floor (/healthz) and django-appointment; prints a table, writes bench/results/*.json.
## Drops and recreates the database yuyue_bench. BENCH_ARGS="--quick" for a 2-minute run.
bench: install-dev
	$(PY) -m bench.run $(BENCH_ARGS)

## make backup: pg_dump -Fc of $DATABASE_URL to backups/yuyue-<UTC time>.dump (or BACKUP_FILE=...)
## make restore BACKUP_FILE=... [RESTORE_DATABASE_URL=...] [FORCE=1]: into a fresh database
## (docs/operations.md, "Backups and restore"). Both read DATABASE_URL from ENV_FILE (.env) if unset.
.PHONY: backup restore stack
backup:
	@sh scripts/backup.sh

restore:
	@sh scripts/restore.sh

## make stack: web, worker and beat (Procfile) under honcho, production settings from .env.stack,
## on a machine that already runs PostgreSQL and Redis (docs/operations.md, "Running the processes")
stack: install-dev
	@test -f .env.stack || { echo "make stack: .env.stack is missing. Create it with"; \
		echo "    cp .env.stack.example .env.stack"; \
		echo "then set its DJANGO_SECRET_KEY, DATABASE_URL, REDIS_URL and DJANGO_ALLOWED_HOSTS."; exit 1; }
	@! grep -n '^[^#]*change-me' .env.stack || { echo "make stack: replace the change-me placeholders in .env.stack first"; exit 1; }
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" honcho -e .env.stack run python manage.py migrate --noinput
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" honcho -e .env.stack run python manage.py collectstatic --noinput -v0
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" honcho -e .env.stack -f Procfile start
