"""flyte.config (flytekit's INI form) and flytectl.yaml (flytectl's YAML, which flytekit reads too) point at the sandbox.

What docs/sandbox.md and the two files say about which tool reads what, checked through flytekit's own loader.
"""

from __future__ import annotations

import yaml
from flytekit.configuration import Config
from flytekit.configuration.file import ConfigFile, get_config_file

from tests.flyte_package import REPO

SANDBOX_ENDPOINT = "localhost:30080"
FLYTE_CONFIG = REPO / "flyte.config"
FLYTECTL_YAML = REPO / "flytectl.yaml"


def settings(cfg: Config) -> dict:
    """What the project's commands need from a config: FlyteAdmin and the sandbox's MinIO."""
    return {
        "endpoint": cfg.platform.endpoint,
        "insecure": cfg.platform.insecure,
        "auth_mode": cfg.platform.auth_mode,
        "s3_endpoint": cfg.data_config.s3.endpoint,
        "s3_access_key_id": cfg.data_config.s3.access_key_id,
        "s3_secret_access_key": cfg.data_config.s3.secret_access_key,
    }


def test_pyflyte_reads_flyte_config_through_its_own_loader():
    cfg = Config.auto(str(FLYTE_CONFIG))
    assert cfg.platform.endpoint == SANDBOX_ENDPOINT
    assert cfg.platform.insecure is True
    assert cfg.data_config.s3.endpoint == "http://localhost:30002"  # the sandbox's MinIO
    assert cfg.data_config.s3.access_key_id == "minio"


def test_flytekit_picks_the_parser_by_the_file_name():
    """flyte.config is parsed as INI (its name does not end in yaml/yml), flytectl.yaml as flytectl's YAML."""
    ini, yml = ConfigFile(str(FLYTE_CONFIG)), ConfigFile(str(FLYTECTL_YAML))
    assert ini.legacy_config is not None and ini.yaml_config is None
    assert ini.legacy_config.get("platform", "url") == SANDBOX_ENDPOINT
    assert yml.legacy_config is None and yml.yaml_config["admin"]["endpoint"] == f"dns:///{SANDBOX_ENDPOINT}"


def test_flytectl_yaml_points_at_the_same_sandbox():
    doc = yaml.safe_load(FLYTECTL_YAML.read_text())
    assert doc["admin"]["endpoint"] == f"dns:///{SANDBOX_ENDPOINT}"
    assert doc["admin"]["insecure"] is True
    assert doc["storage"]["container"] == "my-s3-bucket"  # the flyte-sandbox chart's bucket at Flyte 1.x


def test_flytekit_reads_flytectl_yaml_to_the_same_settings_as_flyte_config():
    """So two files are not needed for two tools: flytekit would do with flytectl.yaml alone."""
    assert settings(Config.auto(str(FLYTECTL_YAML))) == settings(Config.auto(str(FLYTE_CONFIG)))


def test_flytectl_config_env_var_points_pyflyte_at_flytectl_yaml(monkeypatch, tmp_path):
    """`export FLYTECTL_CONFIG=$PWD/flytectl.yaml` serves flytectl and, without --config, pyflyte and Config.auto()."""
    monkeypatch.chdir(tmp_path)  # no ./flytekit.config here
    monkeypatch.delenv("_FLYTECTL_CONFIG_PYFLYTE_OVERRIDE", raising=False)
    monkeypatch.setenv("FLYTECTL_CONFIG", str(FLYTECTL_YAML))
    get_config_file.cache_clear()
    try:
        assert Config.auto().platform.endpoint == SANDBOX_ENDPOINT
    finally:
        get_config_file.cache_clear()
