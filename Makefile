# csbot — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test

.DEFAULT_GOAL := help
.PHONY: help demo test lint format worker beat bench bench-scale backup migrate seed sweep clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/.runtime: requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

$(BIN)/.dev: $(BIN)/.runtime requirements-dev.txt requirements-llm.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

demo: $(BIN)/.runtime ## Install, migrate, load the demo store, train the intent model if missing, serve on http://127.0.0.1:$PORT
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py assets_fetch
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py vision_product_images
	$(BIN)/python manage.py intents_ensure_model
	$(BIN)/python manage.py sweep_unanswered
	@echo "csbot demo: http://$(HOST):$(PORT)/  (admin: /admin/, demo logins in README)"
	exec $(BIN)/python -m daphne -b $(HOST) -p $(PORT) csbot.asgi:application < /dev/null

test: $(BIN)/.dev ## Run the whole suite (embedded, then on Redis + PostgreSQL when reachable)
	$(BIN)/python manage.py assets_fetch
	$(BIN)/python -m pytest -q
	@if $(BIN)/python tests/probe_services.py >/dev/null; then \
	  echo "== services run: Redis + PostgreSQL =="; \
	  CSBOT_TEST_RUN=services REDIS_URL=$(TEST_REDIS_URL) DATABASE_URL=$(TEST_DATABASE_URL) \
	    $(BIN)/python -m pytest -q -m "not browser and not e2e" -p no:cacheprovider; \
	elif [ "$$CSBOT_REQUIRE_SERVICES" = "1" ]; then \
	  echo "CSBOT_REQUIRE_SERVICES=1 but Redis/PostgreSQL are not reachable" >&2; exit 1; \
	else \
	  echo "== Redis/PostgreSQL not reachable: services run not done (embedded run passed) =="; \
	fi

lint: $(BIN)/.dev ## ruff, the layer contracts between the apps (import-linter) and the type checker (mypy)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy csbot catalog conversations intents handoff safety experiments ops vision privacy

format: $(BIN)/.dev ## ruff fix and format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

worker: $(BIN)/.runtime ## Celery worker for the inference and default queues (needs REDIS_URL or CELERY_BROKER_URL)
	$(BIN)/celery -A csbot worker -Q inference,default -l INFO

beat: $(BIN)/.runtime ## Celery beat (periodic sweep of unanswered messages)
	$(BIN)/celery -A csbot beat -l INFO

bench: $(BIN)/.dev ## WebSocket load benchmark (50 shoppers), chat vs a bare echo consumer
	$(BIN)/python bench/ws_load.py --shoppers 50 --messages 20

bench-scale: $(BIN)/.dev ## One vs two Daphne instances with a Celery worker (needs Redis + PostgreSQL)
	$(BIN)/python bench/scale_out.py --shoppers 40 --messages 10 --broker redis://127.0.0.1:6379/13

backup: $(BIN)/.runtime ## Back up the database to CSBOT_BACKUP_TARGET (a directory or s3://bucket/prefix)
	$(BIN)/python manage.py backup

migrate: $(BIN)/.runtime ## Apply migrations
	$(BIN)/python manage.py migrate --noinput

sweep: $(BIN)/.runtime ## Re-queue shopper messages left unanswered
	$(BIN)/python manage.py sweep_unanswered

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) var staticfiles
