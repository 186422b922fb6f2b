#!/usr/bin/env bash
# Builds (and optionally pushes) the task image; prints its full reference registry/name:version as stdout's last line.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: ./docker_build_and_tag.sh [options] [-- extra docker build args]

Builds the Flyte task image from ./Dockerfile and tags it REGISTRY/NAME:VERSION. All build output goes to
stderr; the last line on stdout is the full image reference, so scripts can capture it:
    ref=$(./docker_build_and_tag.sh | tail -n 1)

Options:
  -r, --registry REGISTRY  registry prefix (default: $IMAGE_REGISTRY or localhost:30000, the `flytectl demo` registry)
  -n, --name NAME          image name (default: $IMAGE_NAME or flyte-xgboost)
  -v, --version VERSION    image tag (default: $IMAGE_VERSION or the short git commit, with a -dirty-<digest> suffix
                           when the work tree has uncommitted or untracked files)
  -b, --base-image IMAGE   base image (default: $BASE_IMAGE or the Dockerfile's ARG BASE_IMAGE, which pins
                           python:3.11-slim-bookworm by digest). Where no registry is reachable, name a local
                           stand-in instead, e.g. --base-image python:3.11-slim-bookworm (what the image test uses).
  -w, --fetch-wheels       first (re)fill ./wheels with exactly the wheels requirements.txt pins, hash-checked
                           against the lock, using the host's pip (./.venv/bin/python if present, else $PYTHON or
                           python3), then build from it only.
                           The host must be linux with the base image's CPU architecture and Python version.
  -o, --offline            install only from ./wheels, never from the package index (implied by --fetch-wheels).
                           Without it the build uses ./wheels when it holds wheels, else the package index.
  -p, --push               docker push the image after building it
  -q, --quiet              pass --quiet to docker build
      --dry-run            print the commands (on stderr) without running them; still prints the reference
  -h, --help               show this help

Examples:
  ./docker_build_and_tag.sh --fetch-wheels          # refresh the wheelhouse, build offline from it
  ./docker_build_and_tag.sh -v 1.2.0 --push         # build and push localhost:30000/flyte-xgboost:1.2.0
  ./docker_build_and_tag.sh -- --no-cache           # extra arguments after -- go to `docker build`
  ./docker_build_and_tag.sh -w -b python:3.11-slim-bookworm   # air-gapped: FROM a local stand-in, not the digest
EOF
}

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Runs a command with its stdout sent to stderr (stdout is reserved for the reference), or only shows it on --dry-run.
run() {
  log "+ $(printf '%q ' "$@")"
  if [ "$dry_run" = 0 ]; then "$@" >&2; fi
}

cd "$(dirname "${BASH_SOURCE[0]}")"  # the repo root: the build context and the wheelhouse live here

registry=${IMAGE_REGISTRY:-localhost:30000}
name=${IMAGE_NAME:-flyte-xgboost}
version=${IMAGE_VERSION:-}
# The Dockerfile's default base (pinned by digest) is the one place it is written down.
default_base_image=$(sed -n 's/^ARG BASE_IMAGE=//p' Dockerfile)
[ -n "$default_base_image" ] || die "no 'ARG BASE_IMAGE=' default in Dockerfile"
base_image=${BASE_IMAGE:-$default_base_image}
fetch_wheels=0
pip_offline=auto  # auto: ./wheels if it holds wheels, else the index; 1: ./wheels only
push=0
quiet=()
dry_run=0
extra=()  # ${arr[@]+"${arr[@]}"} below expands empty arrays safely under set -u in bash 3.2 (macOS) too

while [ $# -gt 0 ]; do
  case "$1" in
    -r|--registry) [ $# -ge 2 ] || die "$1 needs a value"; registry=$2; shift 2 ;;
    -n|--name) [ $# -ge 2 ] || die "$1 needs a value"; name=$2; shift 2 ;;
    -v|--version) [ $# -ge 2 ] || die "$1 needs a value"; version=$2; shift 2 ;;
    -b|--base-image) [ $# -ge 2 ] || die "$1 needs a value"; base_image=$2; shift 2 ;;
    -w|--fetch-wheels) fetch_wheels=1; pip_offline=1; shift ;;
    -o|--offline) pip_offline=1; shift ;;
    -p|--push) push=1; shift ;;
    -q|--quiet) quiet=(--quiet); shift ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

if [ -z "$version" ]; then
  git rev-parse --git-dir >/dev/null 2>&1 || die "not a git work tree: pass --version"
  version=$(git rev-parse --short HEAD) || die "no commit yet: pass --version"
  if [ -n "$(git status --porcelain)" ]; then
    # Marked dirty, plus a digest of the uncommitted changes: re-registering after further edits gets a new
    # version (FlyteAdmin refuses a changed task at an already registered version, and treats an identical one as
    # already registered; nodes may also run a cached image of a tag).
    changes=$({ git diff HEAD; git ls-files -z --others --exclude-standard | xargs -0 -r sha256sum; } | sha256sum | cut -c1-8)
    version="$version-dirty-$changes"
    log "warning: uncommitted changes, version $version; commit to get a version that names a commit"
  fi
fi
# A docker tag: at most 128 characters of [A-Za-z0-9_.-], not starting with '.' or '-'.
[[ "$version" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "'$version' is not a valid image tag"
registry=${registry%/}
ref="${registry:+$registry/}$name:$version"

# Refill ./wheels with exactly the pinned wheels: download into a fresh directory (pip's cache makes unchanged wheels
# cheap), then swap it in, so a failed download leaves the old wheelhouse intact and no stale wheel lingers.
fetch() {
  local py
  if [ -n "${PYTHON:-}" ]; then py=$PYTHON
  elif [ -x .venv/bin/python ]; then py=.venv/bin/python
  else py=python3
  fi
  # pip downloads wheels for the interpreter it runs under: that must be the image's (same OS, CPU, Python X.Y).
  local probe='import platform, sys; print(sys.platform, platform.machine(), "%d.%d" % sys.version_info[:2])'
  local host image
  host=$("$py" -c "$probe") || die "cannot run $py"
  image=$(docker run --rm "$base_image" python3 -c "$probe") || die "cannot run python3 in $base_image (no registry to
pull it from? build FROM a local stand-in: --base-image python:3.11-slim-bookworm)"
  [ "$host" = "$image" ] || die "host python ($host) does not match $base_image ($image): wheels fetched here would not
install there. Run with PYTHON=<a matching python>, or build without a wheelhouse (rm -rf wheels) from the index."
  wheels_tmp=$(mktemp -d "${TMPDIR:-/tmp}/wheels.XXXXXX")
  trap 'rm -rf "$wheels_tmp"' EXIT
  local start=$SECONDS
  log "Fetching wheels for requirements.txt with $py"
  # --require-hashes: each wheel must match a sha256 the lock names (the build checks them again, with no index);
  # --no-deps: the lock is the whole set, so nothing is resolved against whatever the index offers today.
  "$py" -m pip download --quiet --disable-pip-version-check --no-deps --require-hashes --only-binary=:all: \
    --dest "$wheels_tmp" -r requirements.txt >&2
  rm -rf wheels && mv "$wheels_tmp" wheels
  trap - EXIT
  log "Wheelhouse ready: $(find wheels -name '*.whl' | wc -l) wheels, $(du -sh wheels | cut -f1), $((SECONDS - start)) s"
}

if [ "$fetch_wheels" = 1 ]; then
  if [ "$dry_run" = 1 ]; then
    log "+ (fill ./wheels) python -m pip download --no-deps --require-hashes --only-binary=:all: --dest wheels -r requirements.txt"
  else
    fetch
  fi
fi

# Resolve the Dockerfile's PIP_OFFLINE=auto here, so the build arg (part of the layer cache key) is the same 1 or 0
# whichever way a build was asked for, and a rebuild reuses the dependency layer.
if compgen -G 'wheels/*.whl' >/dev/null; then
  pip_offline=1
elif [ "$pip_offline" = 1 ]; then
  [ "$dry_run" = 1 ] || die "--offline but ./wheels holds no wheels: run with --fetch-wheels"
else
  pip_offline=0
  log "No wheelhouse in ./wheels: dependencies come from the package index (the build needs network)"
fi

revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
# What model manifests record as the code's commit: the full hash, "-dirty" when the tree has uncommitted changes;
# empty outside a git work tree (unknown, not guessed).
git_commit=""
if [ "$revision" != unknown ]; then
  git_commit=$revision
  [ -z "$(git status --porcelain)" ] || git_commit="$git_commit-dirty"
fi
base_digest=""
case "$base_image" in *@sha256:*) base_digest=${base_image##*@} ;; esac
start=$SECONDS
log "Building $ref"
run docker build \
  ${quiet[@]+"${quiet[@]}"} \
  --file Dockerfile \
  --tag "$ref" \
  --build-arg "BASE_IMAGE=$base_image" \
  --build-arg "PIP_OFFLINE=$pip_offline" \
  --build-arg "tag=$ref" \
  --build-arg "GIT_COMMIT=$git_commit" \
  --label "org.opencontainers.image.version=$version" \
  --label "org.opencontainers.image.revision=$revision" \
  --label "org.opencontainers.image.base.name=${base_image%@*}" \
  ${base_digest:+--label "org.opencontainers.image.base.digest=$base_digest"} \
  ${extra[@]+"${extra[@]}"} \
  .
[ "$dry_run" = 1 ] || log "Built $ref in $((SECONDS - start)) s"

if [ "$push" = 1 ]; then
  run docker push "$ref" || die "push failed: is the registry $registry up and reachable? ('flytectl demo start' runs one at localhost:30000)"
fi

printf '%s\n' "$ref"
