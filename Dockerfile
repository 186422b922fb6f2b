# Task image for the Flyte XGBoost training pipeline: pinned dependencies in /opt/venv, code from flyte/.
#
# Build it with ./docker_build_and_tag.sh (which fills the wheelhouse, names the image and sets `tag`), or by hand:
#   pip download --require-hashes --only-binary=:all: -d wheels -r requirements.txt   # on linux x86_64, CPython 3.11
#   docker build --build-arg tag=localhost:30000/flyte-xgboost:dev -t localhost:30000/flyte-xgboost:dev .
#
# Two stages, so it builds with the classic builder and with BuildKit alike (no RUN --mount, no # syntax= line,
# which BuildKit would try to download): the wheelhouse is copied into the `deps` stage only, and the final image
# takes just the installed venv from it. Nothing in this build needs network when wheels/ is filled.
#
# CPU only: the lock pins xgboost-cpu (no NCCL/CUDA: several hundred MB less). A GPU image needs `xgboost` plus the
# nvidia-nccl-cu12 it pulls in, pinned in a lock of its own, not a swap in this one.

# The base, pinned by digest: the tag python:3.11-slim-bookworm moves with every Debian or Python patch release, the
# digest names one set of bytes (the Docker Official Image's multi-platform index for python:3.11-slim-bookworm, i.e.
# 3.11.16-slim-bookworm, as pinned in public Dockerfiles from 2026-09; refresh it deliberately with
# `docker buildx imagetools inspect python:3.11-slim-bookworm`). docker_build_and_tag.sh reads its default from here.
# Where no registry is reachable, build FROM a local stand-in instead: --build-arg BASE_IMAGE=python:3.11-slim-bookworm
# (or ./docker_build_and_tag.sh --base-image python:3.11-slim-bookworm), as the image test does.
ARG BASE_IMAGE=python:3.11-slim-bookworm@sha256:528257d48c1da0dcecc2e725d1ae34498d60c965f1241e39cd6a85a8859bdf84

# ---------------------------------------------------------------------------------------------------------------
# deps: install the locked requirements into /opt/venv. This stage depends only on requirements.txt and wheels/,
# so a code change rebuilds none of it.
FROM ${BASE_IMAGE} AS deps
# The project's label on both stages: `make clean` removes the dangling images a rebuild leaves, and only them.
LABEL io.flyte-xgboost.project="flyte-xgboost"

# Where packages come from:
#   PIP_OFFLINE=auto  (default) install from the wheelhouse if wheels/ holds any .whl, else from the package index
#   PIP_OFFLINE=1     wheelhouse only; the build fails if wheels/ is empty or misses a pinned package
#   PIP_OFFLINE=0     package index only (needs network inside the build); wheels/ is ignored
# A wheelhouse install uses --no-index, so a stale wheelhouse fails loudly instead of fetching something else.
# Either way --require-hashes: every wheel must match a sha256 of requirements.txt, or the build fails; and
# --no-deps: the lock is the complete set, so pip resolves nothing and cannot reach for a release newer than the lock.
# The venv is created without pip (the base's venv module would seed its own pip and setuptools: 23.0.1 and 66.1.1
# on Debian's python, both with known CVEs); the base's pip installs the lock into it with --python, and the lock
# brings the venv's own, current pip. Nothing else gets in: the venv holds exactly the lock, setuptools not at all.
# pip byte-compiles what it installs (the default; about 150 MB, but each task process imports flytekit, pandas
# and xgboost in ~2 s instead of ~5 s). `pip check` fails the build if the lock is inconsistent.
ARG PIP_OFFLINE=auto

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# `wheel[s]` is a glob, so the build still works when the context has no wheels/ directory; the directory's
# contents (the .whl files) land next to requirements.txt in /build.
COPY requirements.txt wheel[s] /build/

RUN set -eu; \
    python3 -m venv --without-pip /opt/venv; \
    nwheels=$(find /build -maxdepth 1 -name '*.whl' | wc -l); \
    case "$PIP_OFFLINE" in \
      auto) if [ "$nwheels" -gt 0 ]; then offline=1; else offline=0; fi ;; \
      1|0) offline=$PIP_OFFLINE ;; \
      *) echo "PIP_OFFLINE must be auto, 1 or 0, not '$PIP_OFFLINE'" >&2; exit 2 ;; \
    esac; \
    if [ "$offline" = 1 ]; then \
      [ "$nwheels" -gt 0 ] || { echo "PIP_OFFLINE=1 but wheels/ is empty: run ./docker_build_and_tag.sh --fetch-wheels" >&2; exit 1; }; \
      echo "Installing from the wheelhouse ($nwheels wheels), no index"; \
      src="--no-index --find-links /build"; \
    else \
      echo "Installing from the package index"; \
      src=""; \
    fi; \
    python3 -m pip --python /opt/venv/bin/python install --no-deps --require-hashes $src -r /build/requirements.txt; \
    /opt/venv/bin/python -m pip check

# The scientific stack ships its own test suites (about 120 MB with their bytecode, pandas' alone 45 MB); nothing
# imports them at run time. Only directories named `tests` inside these packages go.
RUN cd /opt/venv/lib/python3*/site-packages \
 && find numpy pandas scipy pyarrow -type d -name tests -prune -exec rm -rf {} +

# ---------------------------------------------------------------------------------------------------------------
# runtime: the base image, the venv and the code; runs as an unprivileged user.
FROM ${BASE_IMAGE}
LABEL io.flyte-xgboost.project="flyte-xgboost"

ARG APP_USER=flyte
ARG APP_UID=1000
ARG APP_HOME=/home/flyte/app

# The venv goes first on PATH: python, pip (the locked one), pyflyte, pyflyte-execute and pyflyte-fast-execute all
# come from it.
# /opt/venv/bin/python3 is also the interpreter path flytekit serializes by default (DEFAULT_RUNTIME_PYTHON_INTERPRETER).
# PYTHONPATH is the directory holding the `flyte` package (there is no pip install of the project itself).
# PYTHONDONTWRITEBYTECODE: dependencies are byte-compiled at build time; at run time nothing writes .pyc files
#   (site-packages is root-owned anyway, and the code is small).
# PYTHONUNBUFFERED: logs reach `kubectl logs` and the Flyte console as they are printed.
# OMP_WAIT_POLICY=PASSIVE: XGBoost's OpenMP threads sleep between parallel regions instead of spinning. A pod
#   shares its node's cores; with spinning threads a busy neighbour core made fit times swing tenfold in the
#   issue's measurements, and a spinning thread also burns the cpu limit the pod is throttled against.
ENV VIRTUAL_ENV=/opt/venv \
    OMP_WAIT_POLICY=PASSIVE \
    PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=${APP_HOME} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LANG=C.UTF-8

# A fixed non-root uid/gid (1000), so Kubernetes securityContext.runAsUser/fsGroup can match it. Its home is
# writable for flytekit's local cache (~/.flyte) and config; temp files go to /tmp (world-writable, sticky).
RUN groupadd --gid "${APP_UID}" "${APP_USER}" \
 && useradd --uid "${APP_UID}" --gid "${APP_UID}" --create-home --home-dir "/home/${APP_USER}" --shell /bin/bash "${APP_USER}" \
 && install -d -o "${APP_UID}" -g "${APP_UID}" "${APP_HOME}"

COPY --from=deps /opt/venv /opt/venv

# The Flyte Dask plugin (flytepropeller) starts the DaskJob's scheduler and worker pods from this image with the commands
# `dask-scheduler` and `dask-worker --name ... --nthreads ... --memory-limit ...`; distributed 2026 ships only the `dask`
# command (`dask scheduler`, `dask worker`, same options), so these two forward to it.
RUN printf '#!/bin/sh\nexec /opt/venv/bin/dask scheduler "$@"\n' > /opt/venv/bin/dask-scheduler \
 && printf '#!/bin/sh\nexec /opt/venv/bin/dask worker "$@"\n' > /opt/venv/bin/dask-worker \
 && chmod 0755 /opt/venv/bin/dask-scheduler /opt/venv/bin/dask-worker

WORKDIR ${APP_HOME}

# The code last: editing it rebuilds only this layer. Owned by the runtime user because fast registration
# (`pyflyte run --remote`, or `pyflyte register --destination-dir .`) unpacks the uploaded code over it at task start.
COPY --chown=${APP_UID}:${APP_UID} flyte/ ${APP_HOME}/flyte/

USER ${APP_UID}:${APP_UID}

# The project's bytecode, as the runtime user (so fast registration can still unpack over the tree): with
# PYTHONDONTWRITEBYTECODE set, every pod would otherwise compile the package from source as it starts.
RUN python -m compileall -q flyte

# Every task interface's literal types, built once here into the cache flyte/workflows/shared/literal_type_cache.py
# reads (keyed on the code and the library versions, so a fast-registered edit builds afresh rather than reading a
# stale entry). Without them each pod would build its dataclasses' JSON schemas as it starts: about 0.7 s a pod.
ENV PIPELINE_TYPE_CACHE=/home/${APP_USER}/.cache/flyte-pipeline/literal-types
RUN python -m flyte.workflows

# The full image reference (registry/name:version) this image is pushed as. flytekit uses FLYTE_INTERNAL_IMAGE as
# the default task image, so anything serialized inside the container points back at this very image.
# Declared last: a new tag changes only this metadata, not the cached layers above.
ARG tag=""
ENV FLYTE_INTERNAL_IMAGE=${tag}
# The commit the image was built from (40 hex, "-dirty" appended for uncommitted changes), set by
# docker_build_and_tag.sh; the publish task records it in each model's manifest. Empty: unknown, never guessed.
ARG GIT_COMMIT=""
ENV GIT_COMMIT=${GIT_COMMIT}
