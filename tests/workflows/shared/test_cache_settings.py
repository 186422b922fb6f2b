"""Every config constant that shapes a cached output is in that stage's cache version: editing it misses the cache.
Settings that shape what a stage computes are task inputs with defaults, not config constants: the cache keys on them."""

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
#: What is left is resource sizing that can change a stage's bytes (threads, memory, workers).
EDITS = [
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


#: (task, input, its default): the settings that shape a stage's output, each a typed task input with a default.
POLICY_INPUTS = [
    ("flyte.workflows.training.tasks", "fit", "leak_threshold", 0.95),
    ("flyte.workflows.training.tasks", "score", "settings", "ScoreSettings"),
    ("flyte.workflows.training.tasks", "publish", "card", "CardSettings"),
    ("flyte.workflows.batch.tasks", "check_rows", "drift", "DriftSettings"),
    ("flyte.workflows.gate.tasks", "judge", "criteria", "GateCriteria"),
]


@pytest.mark.parametrize("module,task,name,default", POLICY_INPUTS, ids=[f"{t}.{n}" for _, t, n, _ in POLICY_INPUTS])
def test_settings_that_shape_an_output_are_task_inputs(module, task, name, default):
    import importlib

    entity = getattr(importlib.import_module(module), task)
    assert name in entity.python_interface.inputs, f"{task} has no {name!r} input"
    if task == "judge":  # required: the workflows bind it to their own `gate` input, whose default is GateCriteria()
        return
    value = entity.python_interface.inputs_with_defaults[name][1]
    assert (value == default) if isinstance(default, float) else type(value).__name__ == default


def test_config_holds_no_ml_policy():
    """The thresholds, floors and bootstrap sizes that once were config constants are gone from it."""
    policy = re.compile(r"^(CARD|GATE_(MIN|MAX|ALPHA|BOOTSTRAP|ANALYTIC|REQUIRE|REPLACE)|DRIFT|SCORE_(EXACT|AUC)|LEAK)_?\w* =", re.M)
    assert not policy.findall(CONFIG_TEXT), policy.findall(CONFIG_TEXT)
    assert not re.search(r"\bissue \d+", CONFIG_TEXT, re.I)


def test_task_input_defaults_match_the_gate_criteria_and_card_defaults():
    """The workflows' own defaults are the dataclasses' defaults: no second copy of a number to drift apart."""
    from flyte.workflows.gate.tasks import GateCriteria
    from flyte.workflows.training.pipeline import training_pipeline

    assert training_pipeline.python_interface.inputs_with_defaults["gate"][1] == GateCriteria()
    assert GateCriteria().bootstrap_budget == 200_000_000 and GateCriteria().min_accuracy == 0.70
