# Two commands on a fresh machine:
#   make run    the app with the national demo data at http://127.0.0.1:8000 (SQLite, Celery in-process)
#   make test   the whole test suite against PostgreSQL (plus a subset on SQLite)
VENV := .venv
PYTHON := $(VENV)/bin/python
MANAGE := $(PYTHON) manage.py
INSTALLED := $(VENV)/.installed

.PHONY: run test venv demo messages lint clean

$(INSTALLED): pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $(INSTALLED)

venv: $(INSTALLED)

messages: $(INSTALLED)
	$(MANAGE) compilemessages --ignore=$(VENV) -v0

demo: $(INSTALLED)
	scripts/system-packages.sh
	$(MAKE) messages
	$(MANAGE) migrate --noinput -v0
	$(MANAGE) setup_survey
	$(MANAGE) load_demo
	$(MANAGE) create_demo_accounts

run: demo
	$(MANAGE) runserver 127.0.0.1:8000

test: $(INSTALLED)
	scripts/system-packages.sh --browser
	scripts/test.sh

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
