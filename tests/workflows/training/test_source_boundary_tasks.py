"""The source boundary as the tasks apply it: bundled:// stays in the image's data, redirects stay on allowed hosts,
downloads stay within config's cap and deadline, and a huge header never floods the terminal, traceback or not."""

from __future__ import annotations

import json
import subprocess
from urllib.parse import urlparse

import pytest

from flyte.core.data.dataset import DatasetSpec
from flyte.core.common.errors import DataValidationError
from flyte.workflows import config
from flyte.workflows.training import tasks
from tests.flyte_package import BIN, REPO, clean_env
from tests.http_servers import raw_server, redirect_to

CSV = b"a,y\n1,0\n2,1\n"


def serve(data: bytes):
    def answer(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    return answer


def test_the_fingerprint_refuses_a_bundled_name_outside_the_data_directory():
    with pytest.raises(DataValidationError, match="inside the bundled data directory only") as raised:
        tasks.fingerprint(dataset=DatasetSpec(source="bundled://../../../../etc/passwd", target="y"))
    assert "root:" not in str(raised.value)


def test_a_redirect_from_an_allowed_host_to_another_port_is_refused(monkeypatch, tmp_path):
    """ALLOWED_SOURCE_HOSTS = ("localhost",): a 302 to 127.0.0.1 (another service) must not be followed."""
    hits = []

    def other_service(handler):
        hits.append(handler.path)
        serve(b"internal: do not leak\n")(handler)

    monkeypatch.setattr(config, "ALLOWED_SOURCE_HOSTS", ("localhost",))
    with raw_server(other_service) as other, raw_server(redirect_to(f"{other}/admin")) as allowed:
        source = f"http://localhost:{urlparse(allowed).port}/data.csv"
        with pytest.raises(DataValidationError, match=r"host '127\.0\.0\.1' is not in ALLOWED_SOURCE_HOSTS") as raised:
            tasks.fetch_source(source)
        with pytest.raises(DataValidationError, match=r"host '127\.0\.0\.1' is not in ALLOWED_SOURCE_HOSTS"):
            tasks.fingerprint(dataset=DatasetSpec(source=source, target="y"))
    assert hits == [] and "do not leak" not in str(raised.value)


def test_an_allowed_redirect_still_downloads(monkeypatch):
    monkeypatch.setattr(config, "ALLOWED_SOURCE_HOSTS", ("localhost",))
    with raw_server(serve(CSV)) as target:
        port = urlparse(target).port
        with raw_server(redirect_to(f"http://localhost:{port}/data.csv")) as start:
            path = tasks.fetch_source(f"http://localhost:{urlparse(start).port}/start.csv")
    assert path.read_bytes() == CSV


def test_the_size_cap_in_config_applies(monkeypatch):
    monkeypatch.setattr(config, "FETCH_MAX_BYTES", 10)
    with raw_server(serve(CSV)) as base:
        with pytest.raises(DataValidationError, match="over the cap of 10 bytes"):
            tasks.fetch_source(f"{base}/data.csv")


def test_a_huge_header_is_not_echoed_even_with_the_traceback(tmp_path):
    names = [f"column_{i:06d}_" + "x" * 100 for i in range(12_000)]
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(names) + "\n" + ",".join("1" for _ in names) + "\n")
    env = {**clean_env(tmp_path), "PIPELINE_TRACEBACK": "1"}
    proc = subprocess.run(
        [str(BIN / "python"), "-m", "flyte.cli", "run", "flyte/workflows/training/pipeline.py", "training_pipeline",
         "--registry", str(tmp_path / "registry"), "--dataset", json.dumps({"source": str(wide), "target": "label"})],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    out = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode == 2 and "target column 'label' not found" in out and "(12000 in all)" in out
    assert "Traceback" in out and out.count("Error: ingest failed") == 1  # the traceback was shown ...
    assert len(out) < 60_000 and out.count("column_000100_") == 0  # ... and still no 1.4 MB header
