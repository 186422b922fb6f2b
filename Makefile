# One-command set-up and run. `make run` trains on the bundled data; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test register lock clean bundled-model

# The virtualenv is rebuilt from scratch whenever the lock changes, so a package dropped from the lock leaves it too.
# scripts/install-lock.sh installs exactly requirements-dev.txt (the runtime lock plus the test tools) with the
# hash-checked uv of requirements-lock-tool.txt: every file must match a sha256 in the lock, and nothing is resolved,
# so the install is the same on any day, whatever newer releases the index holds.
$(VENV)/.installed: requirements-dev.txt requirements.txt requirements-lock-tool.txt scripts/install-lock.sh
	PYTHON=$(PYTHON) scripts/install-lock.sh $(VENV) requirements-dev.txt
	@touch $@

# The runtime venv: exactly requirements.txt, the set the image installs, so a local run imports what a pod imports.
# The dev venv's scikit-learn is not only unused there but slow: `import xgboost` imports it when it can (and scipy
# with it), 1.2 s of every fit, which pods never pay.
RUN_VENV ?= .venv-run
$(RUN_VENV)/.installed: requirements.txt requirements-lock-tool.txt scripts/install-lock.sh
	PYTHON=$(PYTHON) scripts/install-lock.sh $(RUN_VENV) requirements.txt
	@touch $@

# The project's own modules byte-compiled, as the venvs' packages are at install and the image's code is at build.
# Where PYTHONDONTWRITEBYTECODE is set (as on CI), Python never writes them, and every process compiled the ~60 project
# modules a workflow imports from source: 0.1 s of each start-up and more in each task. compileall rewrites only the
# files whose source changed, and Python checks each .pyc against its source's mtime and size, so a stale one is never
# used. By $(PYTHON), the interpreter the venvs are made from, so the .pyc files carry their cache tag.
.PHONY: bytecode
bytecode:
	$(PYTHON) -m compileall -q flyte benchmarks tests scripts

## Train on the bundled Pima data, locally, through the project's pyflyte wrapper (flyte/cli.py): errors you
## can fix print as one line, and outputs and the local cache stay in .flyte-local/. Prints the metrics and
## the report path. Runs from the runtime venv ($(RUN_VENV)), as a pod would.
run: $(RUN_VENV)/.installed bytecode
	$(RUN_VENV)/bin/python -m flyte.cli run flyte/workflows/training/pipeline.py training_pipeline

## Retrain the bundled Pima model (flyte/data/models/pima, batch prediction's default) and write the bundled new
## rows (flyte/data/pima-new-rows.csv) through the core functions; commit what it writes.
bundled-model: $(VENV)/.installed
	$(BIN)/python scripts/bundled_model.py

## The full test suite, every layer and the image test: what CI runs (.ci/run). `make test-fast` is the quick subset.
test: $(VENV)/.installed bytecode
	$(BIN)/python -m pytest

## Build and push the image, register everything at the image's version, activate the launch plans.
## Needs a running sandbox (`flytectl demo start`); see scripts/register.sh -h for options.
register: $(VENV)/.installed
	scripts/register.sh

## Re-lock from the .in files with uv (itself pinned and hash-checked in requirements-lock-tool.txt, installed into a
## throwaway venv): requirements.txt (runtime, what the image installs), requirements-dev.txt (runtime + test tools,
## constrained to requirements.txt's pins) and requirements-lock-tool.txt, every file's sha256 included.
## Existing pins are kept unless the .in files need otherwise; `make lock UPGRADE=1` moves everything to the newest.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes -r requirements-lock-tool.txt
	$(UV_COMPILE) requirements-lock-tool.in -o requirements-lock-tool.txt
	$(UV_COMPILE) requirements.in -o requirements.txt
	$(UV_COMPILE) requirements-dev.in -c requirements.txt -o requirements-dev.txt
	rm -rf .lock-venv

# One universal resolution for every OS and Python >= 3.11: platform markers are resolved and written into the lock
# (xgboost-cpu off macOS and xgboost on it, Linux- or Windows-only keyring backends, backports below Python 3.12): one
# lock serves Linux CI and the image as well as a Mac. Hashes cover every wheel and sdist of each pinned version.
UV_COMPILE = .lock-venv/bin/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade)

## Remove the virtualenvs (and their lock-tool venvs), test caches, the wheelhouse (wheels/), and local runs' outputs and task cache (everything in
## .flyte-local/ but the model registry: promoted models stay until `make clean-registry`). Where a Docker engine
## answers, also the images the image tests tag (flyte-xgboost:pytest-*) and the project's dangling images (the
## Dockerfile labels both stages); without Docker that step is skipped.
clean:
	rm -rf $(VENV) $(VENV)-tool $(RUN_VENV) $(RUN_VENV)-tool .pytest_cache wheels
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	if [ -d .flyte-local ]; then find .flyte-local -mindepth 1 -maxdepth 1 ! -name registry -exec rm -rf {} +; fi
	@if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then \
		docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -E '/flyte-xgboost:pytest-' | xargs -r docker image rm --force; \
		docker image prune --force --filter label=io.flyte-xgboost.project=flyte-xgboost; \
	else echo "no Docker engine answers: no images to remove"; fi

.PHONY: clean-registry

## Delete the local model registry (.flyte-local/registry): every promoted model of every name, and their champions.
clean-registry:
	rm -rf .flyte-local/registry

.PHONY: bench bench-large bench-tuning

## Benchmark: cold pipeline vs a plain script (1M, 5M rows), cached rerun, peak memory per pod (100k-10M rows).
## Report on stdout and as JSON in $BENCH_DATA (default /tmp/flyte-bench); pass options as BENCH_ARGS="--only timing".
bench: $(VENV)/.installed $(RUN_VENV)/.installed bytecode
	RUN_VENV=$(RUN_VENV) $(BIN)/python -m benchmarks.bench --json "$${BENCH_DATA:-/tmp/flyte-bench}/bench.json" $(BENCH_ARGS)

## Tuned against default hyperparameters (CV log loss, test metrics) on the Pima data and a synthetic dataset.
bench-tuning: $(VENV)/.installed bytecode
	OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m benchmarks.tuning --json "$${BENCH_DATA:-/tmp/flyte-bench}/bench-tuning.json" $(BENCH_ARGS)

## Not for CI: 100M rows (~7 GB CSV), every task as a pod, the fit pod held to 4 GiB (see benchmarks/large.py).
bench-large: $(VENV)/.installed $(RUN_VENV)/.installed bytecode
	RUN_VENV=$(RUN_VENV) $(BIN)/python -m benchmarks.large --json "$${BENCH_DATA:-/tmp/flyte-bench}/bench-large.json" $(BENCH_ARGS)

.PHONY: bench-dask

## Benchmark the Dask fit (2 local one-thread workers) against the single-pod fit at 1M, 5M and 10M rows: time and
## peak RSS per worker (benchmarks/distributed.py). JSON in $BENCH_DATA (default /tmp/flyte-bench); BENCH_ARGS="--rows 1000000".
bench-dask: $(VENV)/.installed bytecode
	OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m benchmarks.distributed --json "$${BENCH_DATA:-/tmp/flyte-bench}/bench-dask.json" $(BENCH_ARGS)

.PHONY: bench-dask-bisect

## The largest table the Dask fit trains on 2 workers within DASK_WORKER's memory limit, by bisection between 20M and
## 80M rows (benchmarks/distributed.py --bisect; long: each trial ingests its table). Each trial fits at most 100 rounds,
## as the other benchmarks do: what a worker holds per row does not depend on the rounds. BENCH_ARGS="--worker-mib 560" is cheaper.
bench-dask-bisect: $(VENV)/.installed bytecode
	OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m benchmarks.distributed --bisect 20000000 80000000 --resolution 10000000 --hyperparameters '{"max_rounds": 100, "max_depth": 6, "learning_rate": 0.3, "early_stopping_rounds": 50}' --json "$${BENCH_DATA:-/tmp/flyte-bench}/bench-dask-bisect.json" $(BENCH_ARGS)

.PHONY: test-fast

## The edit-test loop: the core layer (tests/core, without the two tests that start a Dask cluster) and the task layer
## (each task run by flytekit). No workflow runs, pods, packages, image or Dask cluster: `make test` runs those too.
test-fast: $(VENV)/.installed
	$(BIN)/python -m pytest $(FAST_TESTS)

FAST_TESTS = tests/core tests/workflows/training/test_tasks.py tests/workflows/batch/test_batch_tasks.py \
	tests/workflows/tuning/test_tuning_tasks.py tests/workflows/gate/test_gate_tasks.py \
	--ignore=tests/core/training/test_distributed_fit.py --ignore=tests/core/batch/test_distributed_predict.py

.PHONY: bench-quick

## Every workflow (training with publish and gate, batch prediction, a tuning trial, the Dask fit) stage by stage
## against its plain script at 100k and 1M rows, in minutes (benchmarks/quick.py). Prints the ratios and exits 0
## whatever they are: only a crashing benchmark fails it. JSON in $BENCH_DATA (default /tmp/flyte-bench).
bench-quick: $(VENV)/.installed $(RUN_VENV)/.installed bytecode
	RUN_VENV=$(RUN_VENV) $(BIN)/python -m benchmarks.quick --json "$${BENCH_DATA:-/tmp/flyte-bench}/bench-quick.json" $(BENCH_ARGS)

.PHONY: bench-defaults

## The default hyperparameters against scikit-learn's HistGradientBoosting defaults on a suite of bundled and generated
## datasets, classification (the pipeline's core path) and regression (raw xgboost.train), one table (benchmarks/defaults.py).
## A few minutes on 2 cores. JSON in $BENCH_DATA (default /tmp/flyte-bench); BENCH_ARGS="--only regression".
bench-defaults: $(VENV)/.installed bytecode
	OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m benchmarks.defaults --json "$${BENCH_DATA:-/tmp/flyte-bench}/bench-defaults.json" $(BENCH_ARGS)
.PHONY: run-regression

## Train, score, publish and gate a regression model on the bundled diabetes progression data (442 rows, scikit-learn's
## load_diabetes, unscaled): the same pipeline as `make run` with "problem_type": "regression" in the dataset spec.
run-regression: $(RUN_VENV)/.installed bytecode
	$(RUN_VENV)/bin/python -m flyte.cli run flyte/workflows/training/pipeline.py training_pipeline --dataset '{"source": "bundled://diabetes.csv", "target": "target", "problem_type": "regression"}'

# The regression Dask fit test starts a cluster too: out of the edit-test loop, as test_distributed_fit.py is.
FAST_TESTS += --ignore=tests/core/training/test_distributed_fit_regression.py
