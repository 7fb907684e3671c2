# Two entry points for a fresh machine (see README.md):
#   make demo   set up, then run the main job on the embedded demo benchmark
#   make test   set up, then lint and run the test suite
PY := .venv/bin/python

.PHONY: setup demo test lint format

setup:
	@bash tools/setup_env.sh

demo: setup
	$(PY) tools/demo.py

test: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest -q

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: setup
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .
