"""`python -m flyte.cli doctor`: a preflight for the sandbox walkthrough, each check PASS/FAIL/SKIP with its fix."""

# The command exits 1 when any check fails. The checks of the sandbox itself (Docker, flytectl, FlyteAdmin, the image
# registry) are in flyte.doctor_checks; the ones here look at what registering needs besides: the Dask plugin, the
# model registry's store, and what the image build needs (the wheelhouse and the base image).

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Callable

from flyte.doctor_checks import (
    DASK_CRD,
    REPO_ROOT,
    SANDBOX_CONTEXT,
    SANDBOX_NAMESPACE,
    Check,
    Probe,
    check_docker,
    check_endpoint,
    check_flytectl,
    check_image_registry,
    image_to_register,
)

#: Most missing wheels named in one line; the rest are counted.
MAX_LISTED = 5
_PLUGIN_HOWTO = (
    "enable it in ~/.flyte/sandbox/config.yaml (tasks.task-plugins.enabled-plugins: dask) before `flytectl demo start`, "
    "and install the Dask operator (docs: \"On the sandbox: enabling the Dask plugin\")"
)


def enabled_plugins(configmaps_json: str) -> set[str]:
    """Every plugin named under an ``enabled-plugins`` key in any ConfigMap of `kubectl get configmaps -o json`."""
    import json

    import yaml

    found: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "enabled-plugins" and isinstance(value, list):
                    found.update(str(v) for v in value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for item in json.loads(configmaps_json).get("items", []):
        for text in (item.get("data") or {}).values():
            try:
                walk(yaml.safe_load(text))
            except yaml.YAMLError:
                continue  # a ConfigMap entry that is not YAML holds no plugin list
    return found


def check_dask_plugin(probe: Probe) -> Check:
    kubectl = ["kubectl", "--context", SANDBOX_CONTEXT]
    answer = probe.run([*kubectl, "-n", SANDBOX_NAMESPACE, "get", "configmaps", "-o", "json"])
    if answer.code == 127:
        by_hand = f"kubectl --context {SANDBOX_CONTEXT} -n {SANDBOX_NAMESPACE} get configmaps -o yaml | grep -A8 enabled-plugins"
        return Check("dask", "SKIP", f"kubectl not found, so the propeller config cannot be read; check by hand: {by_hand}", _PLUGIN_HOWTO)
    if answer.code != 0:
        return Check("dask", "FAIL", f"cannot read the sandbox's config: {answer.text.strip()[:200]}", "start the sandbox first (see the sandbox check)")
    try:
        plugins = enabled_plugins(answer.text)
    except ValueError:
        return Check("dask", "FAIL", "kubectl printed no JSON for the sandbox's ConfigMaps", "run the kubectl command by hand to see why")
    if "dask" not in plugins:
        return Check("dask", "FAIL", f"flytepropeller's enabled-plugins are {sorted(plugins) or 'not set'}: no dask", _PLUGIN_HOWTO)
    if probe.run([*kubectl, "get", "crd", DASK_CRD]).code != 0:
        return Check("dask", "FAIL", f"the dask plugin is enabled, but the Dask operator is not installed (no {DASK_CRD})",
                     "helm install dask-operator dask/dask-kubernetes-operator --namespace dask-operator --create-namespace")  # fmt: skip
    return Check("dask", "PASS", "the dask plugin is enabled and the Dask operator installed")


def store_of(uri: str, config: Path):
    """The fsspec filesystem for ``uri`` and the path in it, with the endpoint and keys flytekit would use from
    ``config`` ([aws] endpoint, access_key_id, ...), so an s3:// URI reaches the sandbox's MinIO."""
    import fsspec
    from flytekit.configuration import Config
    from flytekit.core.data_persistence import get_fsspec_storage_options

    protocol = uri.split("://", 1)[0] if "://" in uri else "file"
    options = get_fsspec_storage_options(protocol, Config.auto(str(config)).data_config) if protocol != "file" else {}
    if protocol == "s3":  # one quick attempt: botocore's default retries make a dead endpoint take minutes
        options["config_kwargs"] = {**options.get("config_kwargs", {}), "connect_timeout": 5, "retries": {"max_attempts": 1}}
    return fsspec.core.url_to_fs(uri, **options)


def check_registry_writable(probe: Probe, uri: str) -> Check:
    probe_name = f".doctor-{uuid.uuid4().hex[:12]}"
    endpoint = probe.setting("aws", "endpoint")
    if uri.startswith("s3://") and endpoint and probe.get(endpoint).code == 0:
        return Check("model registry", "FAIL", f"cannot write to {uri}: nothing answers at {endpoint} ({probe.config.name} [aws] endpoint)",
                     "start the sandbox, whose MinIO serves it, or pass --model-registry")  # fmt: skip
    try:
        fs, path = store_of(uri, probe.config)
        target = f"{path.rstrip('/')}/{probe_name}"
        fs.pipe_file(target, b"written by python -m flyte.cli doctor; safe to delete\n")
        fs.rm_file(target)
    except Exception as exc:  # any store's refusal: permissions, a missing bucket, no answer
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:200]
        return Check("model registry", "FAIL", f"cannot write to {uri}: {reason}",
                     f"check {probe.config.name}'s [aws] endpoint and keys and that the bucket exists, or pass --model-registry")  # fmt: skip
    return Check("model registry", "PASS", f"{uri} is writable (a probe file was written and deleted)")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned(requirements: Path) -> dict[str, str]:
    """{canonical name: version} of every `name==version` line of a pip lock."""
    found = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", requirements.read_text(), flags=re.MULTILINE)
    return {_canonical(name): version for name, version in found}


def check_wheelhouse(wheels: Path, requirements: Path) -> Check:
    have = {(_canonical(w.name.split("-")[0]), w.name.split("-")[1]) for w in wheels.glob("*.whl")} if wheels.is_dir() else set()
    missing = [f"{name}=={version}" for name, version in sorted(pinned(requirements).items()) if (name, version) not in have]
    fix = "./docker_build_and_tag.sh --fetch-wheels (fills it with exactly the pinned wheels), or build online without --offline"
    if not wheels.is_dir():
        return Check("wheelhouse", "FAIL", f"{wheels} does not exist", fix)
    if missing:
        more = f" and {len(missing) - MAX_LISTED} more" if len(missing) > MAX_LISTED else ""
        return Check("wheelhouse", "FAIL", f"{wheels} lacks {len(missing)} pinned wheel(s): {', '.join(missing[:MAX_LISTED])}{more}", fix)
    return Check("wheelhouse", "PASS", f"{wheels} holds a wheel for each of the {len(pinned(requirements))} pins")


def base_image(dockerfile: Path) -> str:
    """The image the build starts FROM: $BASE_IMAGE, else the Dockerfile's `ARG BASE_IMAGE=` default (pinned by digest)."""
    found = re.search(r"^ARG BASE_IMAGE=(\S+)", dockerfile.read_text(), flags=re.MULTILINE)
    return os.environ.get("BASE_IMAGE") or (found[1] if found else "")


def check_base_image(probe: Probe, image: str) -> Check:
    answer = probe.run(["docker", "image", "inspect", "--format", "{{.Id}}", image])
    if answer.code != 0:
        return Check("base image", "FAIL", f"{image} is not in the local Docker images",
                     f"docker pull {image}  (offline: build from a local stand-in, ./docker_build_and_tag.sh --base-image IMAGE)")  # fmt: skip
    return Check("base image", "PASS", f"{image} is present locally")


def run_checks(probe: Probe, image: str, model_registry: str, dask: bool, flytectl: str = "flytectl") -> list[Check]:
    """Every check, in the walkthrough's order; the Dask plugin only when ``dask`` (the distributed workflows)."""
    checks: list[Callable[[], Check]] = [
        lambda: check_docker(probe),
        lambda: check_flytectl(probe, flytectl),
        lambda: check_endpoint(probe),
        lambda: check_image_registry(probe, image or image_to_register(probe)),
        *([lambda: check_dask_plugin(probe)] if dask else []),
        lambda: check_registry_writable(probe, model_registry),
        lambda: check_wheelhouse(REPO_ROOT / "wheels", REPO_ROOT / "requirements.txt"),
        lambda: check_base_image(probe, base_image(REPO_ROOT / "Dockerfile")),
    ]
    return [check() for check in checks]


def report(checks: list[Check]) -> list[str]:
    """The lines printed: one per check, and the fix indented under each that did not pass."""
    lines = []
    for check in checks:
        lines.append(f"{check.status:<4}  {check.name}: {check.detail}")
        if check.fix and check.status != "PASS":
            lines.append(f"      fix: {check.fix}")
    failed = sum(c.status == "FAIL" for c in checks)
    lines.append(f"{failed} of {len(checks)} checks failed" if failed else f"all {len(checks)} checks passed or were skipped")
    return lines


def doctor_command(click):
    """The `doctor` subcommand of the project's command line (``click``: the click module pyflyte uses)."""

    @click.command("doctor")
    @click.option("--dask", is_flag=True, help="also check what the distributed workflows need (the Dask plugin)")
    @click.option("--image", default="", help="image reference to look for (default: what docker_build_and_tag.sh would build)")
    @click.option("--model-registry", default="", help="model registry URI to test for writes (default: the nightly one)")
    @click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), default=REPO_ROOT / "flyte.config",
                  show_default=True, help="flytekit config naming the sandbox's endpoint and object store")  # fmt: skip
    def doctor(dask: bool, image: str, model_registry: str, config_file: Path) -> None:
        """Check what the sandbox walkthrough needs; print PASS/FAIL with the fix for each, exit 1 if any fails."""
        from flyte.workflows import config
        checks = run_checks(Probe(config=config_file), image, model_registry or config.NIGHTLY_MODEL_REGISTRY, dask,
                            flytectl=os.environ.get("FLYTECTL", "flytectl"))  # fmt: skip
        for line in report(checks):
            click.echo(line)
        if any(c.status == "FAIL" for c in checks):
            raise SystemExit(1)

    return doctor
