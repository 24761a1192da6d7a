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
	DJANGO_SECRET_KEY="ci-$$(date +%s)-a-long-random-looking-secret-key-for-the-deploy-check-only" \
	DATABASE_URL="$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/yuyue}" \
	REDIS_URL="$${REDIS_URL:-redis://127.0.0.1:6379/0}" \
	DJANGO_ALLOWED_HOSTS=yuyue.example.org \
	$(PY) manage.py check --deploy --fail-level WARNING

messages: install
	$(PY) manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv --ignore=tests
	$(PY) manage.py compilemessages -l zh_Hans --ignore=.venv

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles

## make bench: booking throughput and p50/p99 against a bare-UPDATE baseline (PostgreSQL, Redis)
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/yuyue_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/15
bench: install
	psql "$(BENCH_DATABASE_URL)" -c "select 1" >/dev/null 2>&1 || createdb -h 127.0.0.1 -U postgres yuyue_bench
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) DJANGO_LOG_LEVEL=WARNING \
		$(PY) manage.py migrate -v0
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) DJANGO_LOG_LEVEL=WARNING \
		$(PY) manage.py bench_booking --bookings 2000 --threads 8
	redis-cli -u $(BENCH_REDIS_URL) flushdb >/dev/null
