"""scripts/bundled_model.py (`make bundled-model`) regenerates exactly what is committed in flyte/data."""

from __future__ import annotations

import importlib.util
import json

from flyte.core.data.dataset import DATA_DIR, PIMA_MODEL, PIMA_NEW_ROWS, local_path
from flyte.core.artifact.manifest import MANIFEST_FILE
from tests.flyte_package import REPO


def script():
    spec = importlib.util.spec_from_file_location("bundled_model", REPO / "scripts" / "bundled_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_model_and_rows_are_what_the_script_writes(tmp_path):
    module = script()
    model = module.write_model(tmp_path / "pima")
    committed = local_path(PIMA_MODEL)
    assert sorted(p.name for p in model.iterdir()) == sorted(p.name for p in committed.iterdir())
    # Every listed file byte for byte; manifest.json itself may carry provenance (a commit, a time) that moves.
    listed = json.loads((model / MANIFEST_FILE).read_text())["files"]
    assert listed == json.loads((committed / MANIFEST_FILE).read_text())["files"], "run `make bundled-model` and commit"
    for name in listed:
        assert (model / name).read_bytes() == (committed / name).read_bytes(), name
    rows = module.write_new_rows(tmp_path / PIMA_NEW_ROWS)
    assert rows.read_bytes() == (DATA_DIR / PIMA_NEW_ROWS).read_bytes()
