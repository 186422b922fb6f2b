#!/usr/bin/env bash
# Builds, pushes and registers the pipeline on a Flyte cluster (default: the `flytectl demo start` sandbox).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/register.sh [options] [-- extra pyflyte register args]

The one register command. It
  1. builds the task image with ./docker_build_and_tag.sh and pushes it (default localhost:30000, the sandbox's
     registry), tagged with VERSION (default: the short git commit, <commit>-dirty-<digest> when the tree has
     changes; a dirty version gets a warning, as it names no commit);
  2. registers flyte/workflows (tasks, the training_pipeline workflow and both launch plans) with pyflyte at the
     same VERSION, pointing every task at that image, and activates the launch plans (this starts the nightly
     schedule of training_pipeline_nightly):
       pyflyte --config flyte.config register --image REF --version VERSION --project flytesnacks \
         --domain development --copy none --activate-launchplans flyte/workflows
     --copy none: tasks run the code baked into the image, so an image tag and a Flyte version name one thing.
Progress goes to stderr; the last line on stdout is the image reference.

Options:
  -c, --config FILE        pyflyte config (default: flyte.config; env FLYTE_PLATFORM_URL etc. override it)
  -p, --project PROJECT    Flyte project (default: $FLYTE_PROJECT or flytesnacks, the sandbox's default)
  -d, --domain DOMAIN      Flyte domain (default: $FLYTE_DOMAIN or development)
  -v, --version VERSION    image tag and Flyte version (default: as docker_build_and_tag.sh)
  -r, --registry REGISTRY  image registry (default: as docker_build_and_tag.sh, localhost:30000)
  -n, --name NAME          image name (default: as docker_build_and_tag.sh, flyte-xgboost)
  -b, --base-image IMAGE   base image (default: as docker_build_and_tag.sh)
  -w, --fetch-wheels       refill ./wheels before building (see docker_build_and_tag.sh -h)
      --no-push            build but do not push (the cluster must already be able to pull the image)
      --dry-run            print the build and push commands without running them, then run
                           `pyflyte register --dry-run`: it serializes everything locally and contacts no cluster
  -h, --help               show this help

Other ways, same image:
  Package, then register with flytectl (uses the YAML config, flytectl.yaml):
    ref=$(./docker_build_and_tag.sh --push | tail -n 1)
    pyflyte --pkgs flyte.workflows package --image "$ref" --output dist/flyte-package.tgz --force  # --copy none
    flytectl --config flytectl.yaml register files --project flytesnacks --domain development \
      --archive dist/flyte-package.tgz --version "${ref##*:}"
  Fast registration (ship code changes without rebuilding the image; pyflyte computes the version):
    pyflyte --config flyte.config register --image "$ref" --destination-dir . flyte/workflows
    (--destination-dir .: the image's working directory; pyflyte's default, /root, is not writable by its user)
EOF
}

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

config=$repo/flyte.config
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
    --no-push) push=(); shift ;;
    --dry-run) dry_run=1; build_args+=(--dry-run); shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

[ -f "$config" ] || die "config file $config not found"
config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config")  # a -c path is relative to the caller's directory
cd "$repo"

# pyflyte from the project's virtualenv (make's .venv) if there is one, else from PATH.
if [ -n "${PYFLYTE:-}" ]; then pyflyte=$PYFLYTE
elif [ -x .venv/bin/pyflyte ]; then pyflyte=.venv/bin/pyflyte
else pyflyte=$(command -v pyflyte) || die "pyflyte not found: run 'make' (creates .venv) or set PYFLYTE"
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
cmd=("$pyflyte" --config "$config" register
  --project "$project" --domain "$domain"
  --image "$ref" --version "$version"
  --copy none --activate-launchplans)
[ "$dry_run" = 0 ] || cmd+=(--dry-run)
cmd+=(${extra[@]+"${extra[@]}"} flyte/workflows)

log "+ $(printf '%q ' "${cmd[@]}")"
"${cmd[@]}" >&2 || die "pyflyte register failed (is the cluster in $config up? 'flytectl demo start' starts one)"

if [ "$dry_run" = 1 ]; then
  log "Dry run: nothing was built, pushed or registered."
else
  log "Registered $project/$domain version $version with image $ref"
  log "Launch it: $pyflyte --config $config run --remote --project $project --domain $domain \\
  remote-launchplan flyte.workflows.training.training_pipeline:$version   (or from the Flyte console)"
fi
printf '%s\n' "$ref"
