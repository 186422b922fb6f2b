"""flyte.config (INI, read by pyflyte) and flytectl.yaml (YAML, read by flytectl) both point at the sandbox."""

from __future__ import annotations

import yaml
from flytekit.configuration import Config

from tests.flyte_package import REPO

SANDBOX_ENDPOINT = "localhost:30080"


def test_pyflyte_reads_flyte_config_through_its_own_loader():
    cfg = Config.auto(str(REPO / "flyte.config"))
    assert cfg.platform.endpoint == SANDBOX_ENDPOINT
    assert cfg.platform.insecure is True
    assert cfg.data_config.s3.endpoint == "http://localhost:30002"  # the sandbox's MinIO, for code and data uploads
    assert cfg.data_config.s3.access_key_id == "minio"


def test_flyte_config_is_ini_because_its_name_does_not_end_in_yaml():
    text = (REPO / "flyte.config").read_text()
    assert "[platform]" in text  # flytekit parses a non-.yaml file as INI; YAML here would be silently ignored


def test_flytectl_yaml_points_at_the_same_sandbox():
    doc = yaml.safe_load((REPO / "flytectl.yaml").read_text())
    assert doc["admin"]["endpoint"] == f"dns:///{SANDBOX_ENDPOINT}"
    assert doc["admin"]["insecure"] is True
    cfg = Config.auto(str(REPO / "flytectl.yaml"))  # flytekit also reads the YAML form
    assert cfg.platform.endpoint == SANDBOX_ENDPOINT and cfg.platform.insecure is True
