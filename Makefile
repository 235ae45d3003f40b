# EventReplay — `make demo` runs a replay end to end on the local stack; `make test` runs every test.
# Both do all set-up on a fresh machine (Python deps, Kafka jars, Kubernetes binaries, the stack).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
REPETITIONS ?= 5
# The image `make image` builds and `make push` pushes (to the registry the tag names): by default
# the chart's image (image.repository, tag = Chart.yaml appVersion).
IMAGE ?= ghcr.io/eventreplay/eventreplay:0.2.0
# The repo root holds an `operator/` folder (mapped to eventreplay.operator): never let Python put
# the working directory in front of the standard library's `operator` module.
export PYTHONSAFEPATH := 1

.PHONY: test demo venv stack stack-down lint typecheck crds lock bench clean reliability image push

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -c constraints.txt -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

stack: venv
	dev/stack up

stack-down:
	dev/stack down

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	bash dev/mypy_layout.sh
	$(VENV)/bin/mypy

test: venv lint stack
	$(VENV)/bin/pytest $(PYTEST_ARGS)

demo: stack
	$(PY) examples/demo.py

# The Dockerfile's image, tagged $(IMAGE): with podman the very build the real-node tests run
# (base pinned by digest, or the local debootstrap base where no registry answers; force one with
# EVENTREPLAY_PYTHON_BASE=pinned|local), else with docker. See docs/install.md.
image: venv
	dev/image build $(IMAGE)

push: venv
	dev/image push $(IMAGE)

# The fault matrix (kills, restarts, flushes, broker stops) on the local stack, each row repeated
# REPETITIONS times, written to docs/reliability.md. Not part of `make test` (~10 min a repetition).
reliability: stack
	$(PY) bench/reliability.py --repetitions $(REPETITIONS)

# The CRD from the pydantic models, and the chart's copy of it (tests compare both byte for byte).
crds: venv
	$(PY) -m eventreplay.operator.crdgen
	$(PY) -m eventreplay.operator.apidoc
	cp crds/eventreplay.io_eventreplays.yaml crds/eventreplay.io_eventreplaywatches.yaml charts/eventreplay-operator/crds/

lock: venv
	(echo "# Pinned versions for reproducible installs: pip install -c constraints.txt -e '.[dev]'"; \
	 echo "# Regenerate with: make lock"; $(PY) -m pip freeze --exclude-editable) > constraints.txt

clean: stack-down
	rm -rf $(VENV) .stack .mypy_cache .ruff_cache .pytest_cache
