"""Every config constant that shapes a cached output is in that stage's cache version: editing it misses the cache."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

from flyte.workflows import config
CONFIG_TEXT = Path(config.__file__).read_text(encoding="utf-8")

#: (stage's cache version, the constant's line in config.py, its edited line): the audit of config.py. Orchestration
#: settings (timeouts, retries, schedules, requests) and thread counts of deterministic stages (predict) are left out.
EDITS = [
    ("PUBLISH_CACHE_VERSION", "CARD_BOOTSTRAP_REPLICATES = 1000", "CARD_BOOTSTRAP_REPLICATES = 200"),
    ("PUBLISH_CACHE_VERSION", "CARD_BOOTSTRAP_SEED = 0", "CARD_BOOTSTRAP_SEED = 1"),
    ("PUBLISH_CACHE_VERSION", "CARD_BOOTSTRAP_ROW_BUDGET = 200_000_000", "CARD_BOOTSTRAP_ROW_BUDGET = 1_000_000"),
    ("PUBLISH_CACHE_VERSION", "CARD_MIN_REPLICATES = 100", "CARD_MIN_REPLICATES = 50"),
    ("PUBLISH_CACHE_VERSION", "CARD_CALIBRATION_BINS = 10", "CARD_CALIBRATION_BINS = 20"),
    ("JUDGE_CACHE_VERSION", "GATE_BOOTSTRAP_BUDGET = 200_000_000", "GATE_BOOTSTRAP_BUDGET = 1_000_000"),
    ("CHECK_ROWS_CACHE_VERSION", "DRIFT_PSI_THRESHOLD = 0.25", "DRIFT_PSI_THRESHOLD = 0.1"),
    ("FIT_CACHE_VERSION", 'TRAIN = preset(request_cpu="1", request_mib=1024, limit_cpus=2, limit_mib=2048)',
     'TRAIN = preset(request_cpu="1", request_mib=1024, limit_cpus=4, limit_mib=2048)'),
    ("FIT_CACHE_VERSION", 'TRAIN = preset(request_cpu="1", request_mib=1024, limit_cpus=2, limit_mib=2048)',
     'TRAIN = preset(request_cpu="1", request_mib=1024, limit_cpus=2, limit_mib=8192)'),
    ("TRIAL_CACHE_VERSION", 'TRAIN = preset(request_cpu="1", request_mib=1024, limit_cpus=2, limit_mib=2048)',
     'TRAIN = preset(request_cpu="1", request_mib=1024, limit_cpus=4, limit_mib=2048)'),
    ("DASK_FIT_CACHE_VERSION", "DASK_WORKERS = 2", "DASK_WORKERS = 4"),
    ("DASK_FIT_CACHE_VERSION", "DASK_LOCAL_WORKERS = 2", "DASK_LOCAL_WORKERS = 1"),
    ("DASK_FIT_CACHE_VERSION", "DASK_LOCAL_DRIVER_RESERVE_MIB = 512", "DASK_LOCAL_DRIVER_RESERVE_MIB = 256"),
    ("DASK_FIT_CACHE_VERSION", 'DASK_WORKER = preset(request_cpu="500m", request_mib=768, limit_cpus=1, limit_mib=2048)',
     'DASK_WORKER = preset(request_cpu="500m", request_mib=768, limit_cpus=1, limit_mib=4096)'),
]


def configured(text: str) -> types.ModuleType:
    """config.py as it would load with ``text`` as its source: every version derived afresh."""
    module = types.ModuleType("config_as_edited")
    module.__file__ = config.__file__
    sys.modules[module.__name__] = module  # dataclasses look their module up while the class is built
    try:
        exec(compile(text, config.__file__, "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
    return module


def test_the_unedited_text_derives_the_same_versions():
    again = configured(CONFIG_TEXT)
    for stage in {stage for stage, _, _ in EDITS}:
        assert getattr(again, stage) == getattr(config, stage)


@pytest.mark.parametrize("stage,line,edited", EDITS, ids=[f"{s}:{e.split(' =')[0]}" for s, _, e in EDITS])
def test_editing_a_setting_changes_its_stages_cache_version(stage, line, edited):
    assert len(re.findall(f"^{re.escape(line)}$", CONFIG_TEXT, re.MULTILINE)) == 1, f"config.py no longer has {line!r}"
    after = configured(CONFIG_TEXT.replace(line, edited))
    assert getattr(after, stage) != getattr(config, stage)
