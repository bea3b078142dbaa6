# decgan: every target builds its own environment (.venv) from nothing when it is missing or stale.
#   make test    the test suite (what CI runs)      make demo   the main job on the embedded default data
#   make lab     JupyterLab on the notebooks         make readme README.md from nbs/index.ipynb
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH_PINS := torch==2.14.1 torchvision==0.29.1
FACENET_PIN := facenet-pytorch==2.6.0
# dlib's wheels are pinned once, as DLIB_PINS in decgan/embedders.py (nbs/07a_embedders.ipynb); read as text, since
#  this runs before anything is installed
DLIB_PINS := $(shell sed -n 's/^DLIB_PINS = "\([^"]*\)"$$/\1/p' decgan/embedders.py)
DEMO_OUT ?= runs/demo
ABLATIONS ?= 1
DEMO_LANES ?= 2
DEMO_STEPS ?=
DEMO_PRESET ?= auto

.PHONY: test demo lab readme env lock export clean check-sync check-clean check-kernels check-params check-readme bench

env: $(STAMP)

$(STAMP): settings.ini setup.py Makefile decgan/embedders.py requirements.lock
	@echo ">> building $(VENV) (torch, facenet-pytorch --no-deps, dlib-bin + face-recognition-models, decgan[dev])"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -c requirements.lock $(TORCH_PINS)
	$(BIN)/pip install -q --disable-pip-version-check -c requirements.lock --no-deps $(FACENET_PIN)
	@test -n "$(DLIB_PINS)" || { echo "FAIL: no line DLIB_PINS = \"...\" in decgan/embedders.py"; exit 1; }
	$(BIN)/pip install -q --disable-pip-version-check -c requirements.lock $(DLIB_PINS)
	$(BIN)/pip install -q --disable-pip-version-check -c requirements.lock -e ".[dev]"
	@touch $@

# requirements.lock: the exact versions .venv is built from (pip constraints). Refresh it: a fresh environment from the
#  unpinned requirements (torch and the pins above, decgan[dev]), frozen; then rerun make test and make demo
lock:
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; $(PYTHON) -m venv $$tmp/v; \
	$$tmp/v/bin/pip install -q --disable-pip-version-check $(TORCH_PINS); \
	$$tmp/v/bin/pip install -q --disable-pip-version-check --no-deps $(FACENET_PIN); \
	$$tmp/v/bin/pip install -q --disable-pip-version-check $(DLIB_PINS); \
	$$tmp/v/bin/pip install -q --disable-pip-version-check -e ".[dev]"; \
	{ sed -n '1,3p' requirements.lock; $$tmp/v/bin/pip freeze --exclude-editable | grep -v '^decgan'; } > $$tmp/lock && mv $$tmp/lock requirements.lock; \
	echo "requirements.lock refreshed: review 'git diff requirements.lock', then make test"

# decgan/ must be exactly what nbdev_export makes of nbs/ (checked in a scratch copy, so work in progress is untouched)
check-sync: $(STAMP)
	@tmp=$$(mktemp -d); cp -r settings.ini nbs $$tmp/; \
	(cd $$tmp && $(CURDIR)/$(BIN)/nbdev_export); \
	if ! diff -r -q -x __pycache__ $$tmp/decgan decgan; then \
	  echo "FAIL: decgan/ is out of step with nbs/: run 'make export' and commit both"; rm -rf $$tmp; exit 1; fi; \
	rm -rf $$tmp; echo "ok: decgan/ matches nbs/"

# notebooks must be committed clean (no outputs, no stray metadata)
check-clean: $(STAMP)
	@tmp=$$(mktemp -d); cp -r settings.ini nbs $$tmp/; \
	(cd $$tmp && $(CURDIR)/$(BIN)/nbdev_clean); \
	if ! diff -r -q -x .ipynb_checkpoints $$tmp/nbs nbs; then \
	  echo "FAIL: notebooks are not clean: run '$(BIN)/nbdev_clean' and commit"; rm -rf $$tmp; exit 1; fi; \
	rm -rf $$tmp; echo "ok: notebooks are clean"

# papermill needs each notebook's kernelspec (name and language): users run `papermill nbs/06_train.ipynb ...` bare
check-kernels: $(STAMP)
	@$(BIN)/python tools/check_kernels.py nbs

# the training chapter's papermill parameters are generated from decgan.core.Config (tools/parameters_cell.py)
check-params: $(STAMP)
	@$(BIN)/python tools/parameters_cell.py --check

check-readme: $(STAMP)
	@tmp=$$(mktemp -d); $(BIN)/python tools/make_readme.py nbs/index.ipynb $$tmp/README.md; \
	if ! diff -q $$tmp/README.md README.md; then \
	  echo "FAIL: README.md is stale: run 'make readme' and commit"; rm -rf $$tmp; exit 1; fi; \
	rm -rf $$tmp; echo "ok: README.md matches nbs/index.ipynb"

test: $(STAMP) check-sync check-clean check-kernels check-params check-readme
	OMP_NUM_THREADS=1 $(BIN)/nbdev_test --n_workers 2 --timing
	OMP_NUM_THREADS=1 $(BIN)/pytest -q tests

export: $(STAMP)
	$(BIN)/nbdev_export
	$(BIN)/nbdev_clean

readme: $(STAMP)
	$(BIN)/python tools/make_readme.py nbs/index.ipynb README.md

# the main job on the embedded synthetic data (tools/demo.sh says how; tools/demo_runs.tsv lists the runs): DECGAN and
#  IcGAN on the CK+-format tree (Figs 3-4, the results table) and on the RAF-DB-format tree (Fig 5), StarGAN and the
#  three ablations of the results table unless ABLATIONS=0, each with DECGAN's budget in images seen, and the judges
#  of both trees, DEMO_LANES jobs side by side; then nbs/08_figures.ipynb writes figures/results*.{csv,md} and Figs 3-5.
#  Runs, logs and executed notebooks go to $(DEMO_OUT). One torch thread per job unless OMP_NUM_THREADS says otherwise
#  (on 2 shared cores, threads spin while the other core is busy). The preset: the paper's (64x64, Tables 1-2) when
#  torch sees a CUDA device, with the steps that fit the demo's time there (measured by tools/demo_budget.py), else the
#  demo preset; DEMO_PRESET=demo|paper chooses. DEMO_STEPS=N trains DECGAN for N steps of the preset's batch, every
#  other run the same images (finished runs are continued, bit for bit as if trained to N at once).
demo: $(STAMP)
	ABLATIONS=$(ABLATIONS) DEMO_LANES=$(DEMO_LANES) DEMO_STEPS=$(DEMO_STEPS) DEMO_PRESET=$(DEMO_PRESET) \
	  DEMO_COMMAND="make demo$(if $(filter-out auto,$(DEMO_PRESET)), DEMO_PRESET=$(DEMO_PRESET))$(if $(DEMO_STEPS), DEMO_STEPS=$(DEMO_STEPS))$(if $(filter 0,$(ABLATIONS)), ABLATIONS=0)" \
	  tools/demo.sh $(BIN) $(DEMO_OUT)

lab: $(STAMP)
	$(BIN)/jupyter lab --allow-root --notebook-dir=nbs

# every benchmark at its quick CPU size (see bench/README.md; the GPU table: bench/throughput.py --batch 64 --batch 256)
bench: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python bench/model_step.py --presets demo --threads 1 --warmup 1 --repeats 3
	OMP_NUM_THREADS=1 $(BIN)/python bench/throughput.py

clean:
	rm -rf _proc _docs .pytest_cache runs
