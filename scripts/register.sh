#!/usr/bin/env bash
# Builds, pushes and registers the pipeline on a Flyte cluster (default: the `flytectl demo start` sandbox).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/register.sh [options] [-- extra args for the registering command]

The one register command. It
  1. builds the task image with ./docker_build_and_tag.sh and pushes it (default localhost:30000, the sandbox's
     registry), tagged with VERSION (default: the short git commit, <commit>-dirty-<digest> when the tree has
     changes; a dirty version gets a warning, as it names no commit);
  2. registers flyte/workflows (every task, workflow and launch plan) at the same VERSION, pointing every task
     at that image, and activates the launch plans (pyflyte's --activate-launchplans activates them all,
     flytectl's --enableSchedule the scheduled ones), so training_pipeline_nightly and batch_predict_nightly
     start their schedules. By default with pyflyte:
       pyflyte --config flyte.config register --project flytesnacks --domain development \
         --image REF --version VERSION --copy none --activate-launchplans flyte/workflows
     or, with --flytectl, by packaging with pyflyte and registering the package with flytectl:
       pyflyte --pkgs flyte.workflows package --image REF --output TMP/flyte-package.tgz --force
       flytectl --config flytectl.yaml register files --project flytesnacks --domain development \
         --archive TMP/flyte-package.tgz --version VERSION --enableSchedule
     --copy none (pyflyte package's default too): tasks run the code baked into the image, so an image tag and a
     Flyte version name one thing. --enableSchedule is flytectl's switch for the schedule: FlyteAdmin creates every
     launch plan inactive, and without it training_pipeline_nightly never runs.
  3. deactivates the scheduled launch plans in config.PAUSED_SCHEDULES (tuning_pipeline_nightly,
     training_pipeline_distributed_nightly: alternatives to the nightly training, not companions), with
       pyflyte --config CONFIG launchplan --project P --domain D --deactivate NAME VERSION
Progress goes to stderr; the last line on stdout is the image reference.

Options:
  -c, --config FILE        config of the registering tool (default: flyte.config for pyflyte, flytectl.yaml with
                           --flytectl; env FLYTE_PLATFORM_URL etc. override pyflyte's)
  -p, --project PROJECT    Flyte project (default: $FLYTE_PROJECT or flytesnacks, the sandbox's default)
  -d, --domain DOMAIN      Flyte domain (default: $FLYTE_DOMAIN or development)
  -v, --version VERSION    image tag and Flyte version (default: as docker_build_and_tag.sh)
  -r, --registry REGISTRY  image registry (default: as docker_build_and_tag.sh, localhost:30000)
  -n, --name NAME          image name (default: as docker_build_and_tag.sh, flyte-xgboost)
  -b, --base-image IMAGE   base image (default: as docker_build_and_tag.sh)
  -w, --fetch-wheels       refill ./wheels before building (see docker_build_and_tag.sh -h)
      --flytectl           register with `flytectl register files` (binary: $FLYTECTL or flytectl on PATH)
      --no-push            build but do not push (the cluster must already be able to pull the image)
      --dry-run            print the build, push and register commands without running them; pyflyte still
                           serializes everything locally (`pyflyte register --dry-run`, or `pyflyte package` with
                           --flytectl), contacting no cluster, and flytectl is not run
  -h, --help               show this help

Fast registration (ship code changes without rebuilding the image; pyflyte computes the version):
    ref=$(./docker_build_and_tag.sh --push | tail -n 1)
    pyflyte --config flyte.config register --image "$ref" --destination-dir . flyte/workflows
    (--destination-dir .: the image's working directory; pyflyte's default, /root, is not writable by its user)
EOF
}

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

config=
route=pyflyte
project=${FLYTE_PROJECT:-flytesnacks}
domain=${FLYTE_DOMAIN:-development}
build_args=()
push=(--push)
dry_run=0
extra=()  # ${arr[@]+"${arr[@]}"} below expands empty arrays safely under set -u in bash 3.2 (macOS) too

while [ $# -gt 0 ]; do
  case "$1" in
    -c|--config) [ $# -ge 2 ] || die "$1 needs a value"; config=$2; shift 2 ;;
    -p|--project) [ $# -ge 2 ] || die "$1 needs a value"; project=$2; shift 2 ;;
    -d|--domain) [ $# -ge 2 ] || die "$1 needs a value"; domain=$2; shift 2 ;;
    -v|--version|-r|--registry|-n|--name|-b|--base-image)
      [ $# -ge 2 ] || die "$1 needs a value"; build_args+=("$1" "$2"); shift 2 ;;
    -w|--fetch-wheels) build_args+=("$1"); shift ;;
    --flytectl) route=flytectl; shift ;;
    --no-push) push=(); shift ;;
    --dry-run) dry_run=1; build_args+=(--dry-run); shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

if [ -z "$config" ]; then
  if [ "$route" = flytectl ]; then config=$repo/flytectl.yaml; else config=$repo/flyte.config; fi
fi
[ -f "$config" ] || die "config file $config not found"
config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config")  # a -c path is relative to the caller's directory
cd "$repo"

# pyflyte (both routes: it registers, or it packages for flytectl) from the project's virtualenv (make's .venv)
# if there is one, else from PATH.
if [ -n "${PYFLYTE:-}" ]; then pyflyte=$PYFLYTE
elif [ -x .venv/bin/pyflyte ]; then pyflyte=.venv/bin/pyflyte
else pyflyte=$(command -v pyflyte) || die "pyflyte not found: run 'make' (creates .venv) or set PYFLYTE"
fi
flytectl=${FLYTECTL:-flytectl}
if [ "$route" = flytectl ] && [ "$dry_run" = 0 ]; then
  command -v "$flytectl" >/dev/null || die "flytectl not found: install it (https://github.com/flyteorg/flyte/releases) or set FLYTECTL"
fi

# 1. Image: the build script prints the reference as its last stdout line; its tag is the version to register.
ref=$(./docker_build_and_tag.sh ${build_args[@]+"${build_args[@]}"} ${push[@]+"${push[@]}"} | tail -n 1)
[ -n "$ref" ] || die "docker_build_and_tag.sh printed no image reference"
version=${ref##*:}
# docker_build_and_tag.sh names a tree with uncommitted changes <commit>-dirty-<digest of the changes>; a bare
# -dirty suffix is matched too, for versions given by hand.
case "$version" in
  *-dirty|*-dirty-*)
    log "warning: version $version is built from uncommitted changes, so it names no commit: the image and"
    log "the registered entities cannot be traced back to, or rebuilt from, git history. Commit, then register." ;;
esac

# 2. Flyte entities, at the image's version.
if [ "$route" = pyflyte ]; then
  cmd=("$pyflyte" --config "$config" register
    --project "$project" --domain "$domain"
    --image "$ref" --version "$version"
    --copy none --activate-launchplans)
  [ "$dry_run" = 0 ] || cmd+=(--dry-run)
  cmd+=(${extra[@]+"${extra[@]}"} flyte/workflows)

  log "+ $(printf '%q ' "${cmd[@]}")"
  "${cmd[@]}" >&2 || die "pyflyte register failed (is the cluster in $config up? 'flytectl demo start' starts one)"
else
  # pyflyte package serializes the entities without a version (--copy none is its default); flytectl register files
  # gives them --version. --enableSchedule activates the launch plans that carry a schedule; without it
  # FlyteAdmin keeps them inactive. flytectl takes only .tgz/.tar archives.
  pkg_dir=$(mktemp -d "${TMPDIR:-/tmp}/flyte-package.XXXXXX")
  trap 'rm -rf "$pkg_dir"' EXIT
  archive=$pkg_dir/flyte-package.tgz
  pkg=("$pyflyte" --pkgs flyte.workflows package --image "$ref" --output "$archive" --force)
  log "+ $(printf '%q ' "${pkg[@]}")"
  "${pkg[@]}" >&2 || die "pyflyte package failed"

  cmd=("$flytectl" --config "$config" register files
    --project "$project" --domain "$domain"
    --archive "$archive" --version "$version"
    --enableSchedule)
  cmd+=(${extra[@]+"${extra[@]}"})
  log "+ $(printf '%q ' "${cmd[@]}")"
  if [ "$dry_run" = 0 ]; then
    "${cmd[@]}" >&2 || die "flytectl register files failed (is the cluster in $config up? 'flytectl demo start' starts one)"
  fi
fi

# 3. Schedules that stay off: both routes activate every scheduled launch plan, but the alternatives of the nightly
# training (tuned, distributed) must not run beside it; config.PAUSED_SCHEDULES names them (docs/sandbox.md, step 2).
paused=$("$(dirname "$pyflyte")/python" -c 'from flyte.workflows.config import PAUSED_SCHEDULES; print(*PAUSED_SCHEDULES)') \
  || die "cannot read PAUSED_SCHEDULES from flyte/workflows/config.py"
for lp in $paused; do
  cmd=("$pyflyte" --config "$config" launchplan --project "$project" --domain "$domain" --deactivate "$lp" "$version")
  log "+ $(printf '%q ' "${cmd[@]}")"
  if [ "$dry_run" = 0 ]; then
    "${cmd[@]}" >&2 || die "could not deactivate $lp (activate or deactivate it by hand: pyflyte launchplan --help)"
  fi
done

if [ "$dry_run" = 1 ]; then
  log "Dry run: nothing was built, pushed or registered."
else
  log "Registered $project/$domain version $version with image $ref"
  log "Launch it: $pyflyte --config $config run --remote --project $project --domain $domain \\
  remote-launchplan flyte.workflows.training.pipeline.training_pipeline:$version   (or from the Flyte console)"
fi
printf '%s\n' "$ref"
