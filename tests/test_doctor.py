"""Tests for `python -m flyte.cli doctor`: each check against stand-ins (fake executables on PATH, HTTP servers on
127.0.0.1, a local or S3-protocol store), passing and failing, and the command's output and exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flyte import doctor, doctor_checks
from flyte.doctor_checks import Answer, Probe
from flyte.workflows import config
from tests.flyte_package import REPO, clean_env
from tests.http_servers import Routes, answering_server, closed_port

LINE = doctor_checks.flyte_line()
FLYTECTL_OUT = json.dumps({"App": "flytectl", "Version": "0.9.7"}, indent=2)


def admin_routes(version: str = f"v{LINE}.3") -> Routes:
    routes = Routes()
    routes.add("/healthcheck", (200, b""))
    routes.add("/api/v1/version", (200, json.dumps({"control_plane_version": {"Build": "x", "Version": version}}).encode()))
    return routes


def registry_routes(tags: list[str]) -> Routes:
    routes = Routes()
    routes.add("/v2/", (200, b"{}"))
    routes.add("/v2/flyte-xgboost/tags/list", (200, json.dumps({"name": "flyte-xgboost", "tags": tags}).encode()))
    return routes


def flyte_config(tmp_path: Path, admin: str) -> Path:
    path = tmp_path / "flyte.config"
    path.write_text(f"[platform]\nurl = {admin.removeprefix('http://')}\ninsecure = True\n")
    return path


def probe_with(answers: dict[str, Answer], tmp_path: Path, admin: str = "http://127.0.0.1:9") -> Probe:
    """A Probe whose commands answer by program name (127 for any other) and whose URLs are really fetched."""
    return Probe(run=lambda argv: answers.get(argv[0], Answer(127, f"{argv[0]}: not found")), config=flyte_config(tmp_path, admin))


# --- each check -------------------------------------------------------------------------------------------


def test_docker_running_missing_and_stopped(tmp_path):
    assert doctor_checks.check_docker(probe_with({"docker": Answer(0, "27.3.1\n")}, tmp_path)).status == "PASS"
    missing = doctor_checks.check_docker(probe_with({}, tmp_path))
    assert (missing.status, missing.detail) == ("FAIL", "docker not found on PATH") and "install Docker" in missing.fix
    stopped = doctor_checks.check_docker(probe_with({"docker": Answer(1, "\nCannot connect to the Docker daemon")}, tmp_path))
    assert stopped.status == "FAIL" and stopped.detail.endswith("Cannot connect to the Docker daemon") and "start Docker" in stopped.fix


def test_flytectl_versions_reads_back_to_back_json_after_a_notice():
    text = 'A new release of flytectl is available\n{\n  "App": "flytectl",\n  "Version": "0.9.7"\n}{\n  "App": "controlPlane",\n  "Version": "v1.16.3"\n}'
    assert doctor_checks.flytectl_versions(text) == {"flytectl": "0.9.7", "controlPlane": "v1.16.3"}


@pytest.mark.parametrize(
    ("sandbox", "status"), [("", "PASS"), (f"v{LINE}.3", "PASS"), ("v2.0.1", "FAIL"), ("v1.9.0", "FAIL")]
)
def test_flytectl_must_see_a_sandbox_on_the_pinned_line(tmp_path, sandbox, status):
    out = FLYTECTL_OUT + (json.dumps({"App": "controlPlane", "Version": sandbox}) if sandbox else "")
    check = doctor_checks.check_flytectl(probe_with({"flytectl": Answer(0, out)}, tmp_path))
    assert check.status == status, check
    if status == "FAIL":
        assert f"this project pins Flyte {LINE}" in check.detail
        assert f"flytectl demo start --version {config.SANDBOX_FLYTE_VERSION}" in check.fix


def test_flytectl_missing(tmp_path):
    check = doctor_checks.check_flytectl(probe_with({}, tmp_path))
    assert check.status == "FAIL" and "install flytectl" in check.fix


def test_the_pinned_sandbox_is_on_flytekits_release_line():
    assert config.SANDBOX_FLYTE_VERSION.startswith(f"v{LINE}.")


def test_endpoint_answers_on_the_pinned_line(tmp_path):
    with answering_server(admin_routes()) as admin:
        check = doctor_checks.check_endpoint(probe_with({}, tmp_path, admin))
    assert (check.status, check.detail) == ("PASS", f"FlyteAdmin answers at {admin}, Flyte v{LINE}.3")


def test_endpoint_on_another_flyte_line_fails(tmp_path):
    with answering_server(admin_routes("v2.0.1")) as admin:
        check = doctor_checks.check_endpoint(probe_with({}, tmp_path, admin))
    assert check.status == "FAIL" and "runs Flyte v2.0.1" in check.detail and "flytectl demo teardown" in check.fix


def test_no_endpoint_names_the_config_and_the_fix(tmp_path):
    with answering_server(Routes()) as admin:  # something answers, but not FlyteAdmin (404)
        wrong = doctor_checks.check_endpoint(probe_with({}, tmp_path, admin))
    assert wrong.status == "FAIL" and wrong.detail == f"no FlyteAdmin at {admin} (flyte.config [platform] url): HTTP 404"
    assert wrong.fix.startswith("flytectl demo start --version ")


def test_image_registry_holds_the_tag_or_says_how_to_push_it(tmp_path):
    probe = probe_with({}, tmp_path)
    with answering_server(registry_routes(["abc1234", "t1"])) as registry:
        host = registry.removeprefix("http://")
        found = doctor_checks.check_image_registry(probe, f"{host}/flyte-xgboost:t1")
        absent = doctor_checks.check_image_registry(probe, f"{host}/flyte-xgboost:t2")
    assert found.status == "PASS"
    assert (absent.status, absent.detail) == ("FAIL", f"{host} answers, but holds no flyte-xgboost:t2")
    assert "docker_build_and_tag.sh --push" in absent.fix


def test_image_to_register_is_what_the_build_script_would_tag(tmp_path, monkeypatch):
    monkeypatch.setenv("IMAGE_VERSION", "v9")
    assert doctor_checks.image_to_register(Probe(config=flyte_config(tmp_path, "http://x"))) == "localhost:30000/flyte-xgboost:v9"


def configmaps(*plugins: str) -> str:
    """`kubectl get configmaps -o json` for a sandbox whose propeller enables ``plugins``."""
    core = f"tasks:\n  task-plugins:\n    enabled-plugins: [{', '.join(plugins)}]\n"
    return json.dumps({"items": [{"data": {"000-core.yaml": core, "note": "not: [valid"}}, {"metadata": {}}]})


STANDARD = ("container", "sidecar", "k8s-array")


@pytest.mark.parametrize(("extra", "crd", "status"), [(("dask",), 0, "PASS"), ((), 0, "FAIL"), (("dask",), 1, "FAIL")])
def test_dask_plugin_read_from_the_propeller_config(tmp_path, extra, crd, status):
    def run(argv):
        if argv[0] != "kubectl":
            return Answer(127, "")
        return Answer(crd, "") if "crd" in argv else Answer(0, configmaps(*STANDARD, *extra))

    check = doctor.check_dask_plugin(Probe(run=run, config=flyte_config(tmp_path, "http://x")))
    assert check.status == status, check
    if not extra:
        assert check.detail == "flytepropeller's enabled-plugins are ['container', 'k8s-array', 'sidecar']: no dask"
    if crd:
        assert "helm install dask-operator" in check.fix


def test_dask_plugin_without_kubectl_says_how_to_check(tmp_path):
    check = doctor.check_dask_plugin(probe_with({}, tmp_path))
    assert check.status == "SKIP" and "get configmaps" in check.detail and "enabled-plugins" in check.fix


def test_registry_writable_locally_and_not(tmp_path):
    probe = probe_with({}, tmp_path)
    store = tmp_path / "registry"
    store.mkdir()
    assert doctor.check_registry_writable(probe, str(store)).status == "PASS"
    assert list(store.iterdir()) == []  # the probe file is gone
    blocked = tmp_path / "a-file"
    blocked.write_text("")  # a registry "inside" a file cannot be written, even by root
    check = doctor.check_registry_writable(probe, str(blocked / "registry"))
    assert check.status == "FAIL" and check.detail.startswith(f"cannot write to {blocked / 'registry'}: ")
    assert "--model-registry" in check.fix


def test_registry_writable_on_an_s3_protocol_server(tmp_path):
    """The nightly registry is an s3:// URI: reached with flyte.config's [aws] endpoint and keys, as flytekit does."""
    boto3 = pytest.importorskip("boto3")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{server._server.server_port}"
        boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1").create_bucket(Bucket="models")
        cfg = tmp_path / "flyte.config"
        cfg.write_text(f"[aws]\nendpoint = {endpoint}\naccess_key_id = k\nsecret_access_key = s\n")
        probe = Probe(run=lambda argv: Answer(127, ""), config=cfg)
        assert doctor.check_registry_writable(probe, "s3://models/registry").status == "PASS"
        missing = doctor.check_registry_writable(probe, "s3://no-such-bucket/registry")
    finally:
        server.stop()
    assert missing.status == "FAIL" and missing.detail.startswith("cannot write to s3://no-such-bucket/registry: ")


def test_registry_on_an_object_store_that_does_not_answer_fails_at_once(tmp_path):
    cfg = tmp_path / "flyte.config"
    cfg.write_text(f"[aws]\nendpoint = http://127.0.0.1:{closed_port()}\naccess_key_id = k\nsecret_access_key = s\n")
    check = doctor.check_registry_writable(Probe(run=lambda argv: Answer(127, ""), config=cfg), "s3://models/registry")
    assert check.status == "FAIL" and check.detail.endswith("(flyte.config [aws] endpoint)") and "nothing answers at" in check.detail


def test_wheelhouse_needs_every_pinned_wheel(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("flytekit==1.16.31 \\\n    --hash=sha256:00\ndask[distributed]==2026.8.0 \\\n    --hash=sha256:11\nPyYAML==6.0.2\n")
    wheels = tmp_path / "wheels"
    assert doctor.check_wheelhouse(wheels, requirements).detail == f"{wheels} does not exist"
    wheels.mkdir()
    for name in ("flytekit-1.16.31-py3-none-any.whl", "pyyaml-6.0.2-cp311-cp311-linux_x86_64.whl", "dask-2026.9.0-py3-none-any.whl"):
        (wheels / name).touch()
    short = doctor.check_wheelhouse(wheels, requirements)
    assert (short.status, short.detail) == ("FAIL", f"{wheels} lacks 1 pinned wheel(s): dask==2026.8.0")
    (wheels / "dask-2026.8.0-py3-none-any.whl").touch()
    assert doctor.check_wheelhouse(wheels, requirements).status == "PASS"


def test_base_image_is_the_dockerfiles_pin(tmp_path, monkeypatch):
    monkeypatch.delenv("BASE_IMAGE", raising=False)
    pin = doctor.base_image(REPO / "Dockerfile")
    assert pin.startswith("python:3.11-slim-bookworm@sha256:")
    inspected = []
    probe = Probe(run=lambda argv: inspected.append(argv) or Answer(1, "No such image"), config=flyte_config(tmp_path, "http://x"))
    check = doctor.check_base_image(probe, pin)
    assert inspected[0][-1] == pin and check.status == "FAIL" and check.fix.startswith(f"docker pull {pin}")


def test_report_prints_fixes_only_for_what_did_not_pass():
    checks = [doctor.Check("a", "PASS", "fine", "unused"), doctor.Check("b", "FAIL", "broken", "mend it"), doctor.Check("c", "SKIP", "unknown", "look")]
    assert doctor.report(checks) == ["PASS  a: fine", "FAIL  b: broken", "      fix: mend it", "SKIP  c: unknown", "      fix: look", "1 of 3 checks failed"]


# --- the command ----------------------------------------------------------------------------------------------


def fake_tools(bin_dir: Path, *, docker_up: bool = True) -> None:
    """Fake `docker`, `flytectl` and `kubectl` executables answering as the real ones do when all is well."""
    bin_dir.mkdir()
    scripts = {
        "docker": 'case "$1" in info) echo 27.3.1;; image) echo sha256:abc;; esac' if docker_up else
                  'echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock." >&2; exit 1',
        "flytectl": f"cat <<'EOF'\n{FLYTECTL_OUT}{json.dumps({'App': 'controlPlane', 'Version': f'v{LINE}.3'})}\nEOF",
        "kubectl": f"""case "$*" in *configmaps*) cat <<'EOF'\n{configmaps(*STANDARD, 'dask')}\nEOF\n;; esac""",
    }  # fmt: skip
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)


def run_doctor(tmp_path: Path, admin: str, registry: str, *args: str, docker_up: bool = True) -> subprocess.CompletedProcess:
    fake_tools(tmp_path / "bin", docker_up=docker_up)
    (tmp_path / "home").mkdir()
    (tmp_path / "models").mkdir()
    env = clean_env(tmp_path / "home", PATH=f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}", PIPELINE_LOCAL_DIR=str(tmp_path / "local"))
    argv = [sys.executable, "-m", "flyte.cli", "doctor", "--config", str(flyte_config(tmp_path, admin)),
            "--image", f"{registry.removeprefix('http://')}/flyte-xgboost:t1", "--model-registry", str(tmp_path / "models"), *args]  # fmt: skip
    return subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_doctor_passes_what_is_there_and_fails_with_the_fix(tmp_path):
    with answering_server(admin_routes()) as admin, answering_server(registry_routes(["t1"])) as registry:
        done = run_doctor(tmp_path, admin, registry, "--dask")
    lines = done.stdout.splitlines()
    status = {line.split(":")[0].split(None, 1)[1]: line.split()[0] for line in lines if line[:4] in ("PASS", "FAIL", "SKIP")}
    wheels_there = (REPO / "wheels").is_dir() and doctor.check_wheelhouse(REPO / "wheels", REPO / "requirements.txt").status == "PASS"
    assert status == {"docker": "PASS", "flytectl": "PASS", "sandbox": "PASS", "image": "PASS", "dask": "PASS",
                      "model registry": "PASS", "wheelhouse": "PASS" if wheels_there else "FAIL", "base image": "PASS"}, done.stdout + done.stderr  # fmt: skip
    assert done.returncode == (0 if wheels_there else 1)
    if not wheels_there:
        assert "      fix: ./docker_build_and_tag.sh --fetch-wheels" in done.stdout and lines[-1] == "1 of 8 checks failed"


def test_doctor_without_docker_or_a_sandbox_fails_each_with_its_fix(tmp_path):
    with answering_server(Routes()) as nothing:
        done = run_doctor(tmp_path, nothing, nothing, docker_up=False)
    assert done.returncode == 1
    out = done.stdout
    assert "FAIL  docker: the Docker daemon did not answer: Cannot connect to the Docker daemon" in out
    assert f"FAIL  sandbox: no FlyteAdmin at {nothing}" in out and "FAIL  image: no image registry at" in out
    assert "  dask:" not in out  # checked only with --dask
    assert "Traceback" not in out + done.stderr
