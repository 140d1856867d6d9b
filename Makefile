# The two commands: `make run` and `make test`. Everything else is a helper for them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install migrate seed worker beat lint format messages check-deploy ci clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(MANAGE) migrate --noinput

seed: migrate
	$(MANAGE) seed_demo --base-url http://$(HOST):$(PORT)

# Serve the site on $(HOST):$(PORT) with demo data. With CELERY_BROKER_URL set, a Celery
# worker and beat run beside the server and stop with it.
run: seed
	@if [ -n "$$CELERY_BROKER_URL" ]; then \
	  echo "Starting a Celery worker and beat (broker $$CELERY_BROKER_URL)"; \
	  $(BIN)/celery -A loyalty worker --loglevel=info --concurrency=2 & worker=$$!; \
	  $(BIN)/celery -A loyalty beat --loglevel=info & beat=$$!; \
	  trap 'kill $$worker $$beat 2>/dev/null; wait' EXIT INT TERM; \
	  $(MANAGE) runserver $(HOST):$(PORT); \
	else \
	  echo "No CELERY_BROKER_URL: tasks run in-process."; \
	  $(MANAGE) runserver $(HOST):$(PORT); \
	fi

# The whole suite; PostgreSQL/worker tests run when DATABASE_URL/CELERY_BROKER_URL are set.
test: install
	$(BIN)/pytest $(PYTEST_ARGS)

worker: install
	$(BIN)/celery -A loyalty worker --loglevel=info

beat: install
	$(BIN)/celery -A loyalty beat --loglevel=info

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -q -c pyproject.toml -r loyalty members tiers rewards campaigns pos promotions member_api insights console

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Refresh the translation catalogues after changing user-facing strings (needs GNU gettext).
messages: install
	$(MANAGE) makemessages --locale vi --locale en --ignore '.venv/*' --ignore 'var/*'
	$(MANAGE) compilemessages --ignore '.venv/*'

ci:
	bash .ci/run

clean:
	rm -rf $(VENV) var .pytest_cache
