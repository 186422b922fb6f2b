"""Cache keys that name what was computed: ingest keeps nothing read from bytes other than its fingerprint's, and
the stages after fit are keyed on the model's content, not on the path fit wrote it to."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from unittest import mock

import pytest
from flytekit.exceptions.user import FlyteRecoverableException as Recoverable

from flyte.core.common.errors import SourceChangedError
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.registry.registry import Registry
from flyte.core.registry.names import derive_model_name, entry_location
from flyte.core.data.split import SplitParams
from flyte.core.common.files import file_sha256
from flyte.workflows.shared.flytekit_compat import local_cache_store
from flyte.workflows.training import tasks
from flyte.workflows.training.pipeline import training_pipeline
from tests.spies import CallCounter

AS_OF = datetime(2026, 1, 1, tzinfo=timezone.utc)
FAST = Hyperparameters(max_rounds=40, early_stopping_rounds=10, learning_rate=0.3)


def cached_keys(task_name: str) -> list[str]:
    return [k for k in local_cache_store() if str(k).startswith(f"{task_name}-")]


def test_a_file_changed_between_fingerprint_and_ingest_is_retried_and_nothing_is_cached(mixed_csv):
    path, spec = mixed_csv
    fingerprint = tasks.fingerprint(dataset=spec)  # the bytes as they were (A)
    edited = path.read_text().replace("alpha", "beta", 5)
    path.write_text(edited)  # then the file changes (B) before ingest reads it
    with pytest.raises(Recoverable, match="changed since its fingerprint") as raised:
        tasks.ingest(dataset=spec, source=fingerprint, split_params=SplitParams(), data_as_of=AS_OF)
    assert isinstance(raised.value.__cause__, SourceChangedError)
    assert cached_keys("flyte.workflows.training.tasks.ingest") == []
    # The next run (a retry fingerprints again) reads and keeps B's bytes.
    again = tasks.ingest(dataset=spec, source=tasks.fingerprint(dataset=spec), split_params=SplitParams(), data_as_of=AS_OF)
    assert again.profile.sha256 == file_sha256(path) != fingerprint.content_sha256
    assert len(cached_keys("flyte.workflows.training.tasks.ingest")) == 1


def test_a_refit_with_the_same_bytes_at_another_path_is_a_cache_hit_for_everything_after_fit(mixed_csv, tmp_path):
    _, spec = mixed_csv
    registry = str(tmp_path / "registry")
    saved: list[Path] = []
    from flyte.core.artifact import model as model_module
    real_save = model_module.save_model

    def save(model, directory):
        saved.append(Path(directory))
        return real_save(model, directory)

    calls = CallCounter(["flyte.core.training.fit.train_model", "flyte.core.evaluation.predict.predict_table",
                         "flyte.core.publishing.publish.publish_model"]).start()  # fmt: skip
    try:
        with mock.patch.object(model_module, "save_model", save):
            first = training_pipeline(registry=registry, dataset=spec, hyperparameters=FAST)
            for key in cached_keys("flyte.workflows.training.tasks.fit"):  # as if fit's cache entry were gone (another node)
                del local_cache_store()[key]
            second = training_pipeline(registry=registry, dataset=spec, hyperparameters=FAST)
    finally:
        calls.stop()
    assert len(saved) == 2 and saved[0] != saved[1]  # fit ran twice and wrote to two paths ...
    assert file_sha256(saved[0] / "model.ubj") == file_sha256(saved[1] / "model.ubj")  # ... the same booster
    assert calls.counts() == {"train_model": 2, "predict_table": 1, "publish_model": 1}
    assert second.model.path == first.model.path  # the published model is the cached one
    entry = entry_location(str(registry), derive_model_name(spec.source))
    assert len(Registry(entry).versions()) == 1  # promoted once; never a second version of the same booster


def test_a_remote_object_replaced_during_the_run_is_retried_and_nothing_is_cached(monkeypatch):
    """An http source whose ETag changes between the fingerprint and the end of the download."""
    from flyte.workflows.training.pipeline import training_pipeline  # noqa: F401  (the tasks' module is loaded)
    from tests.http_servers import raw_server
    from flyte.core.data.dataset import DatasetSpec

    state = {"etag": '"a"'}
    data = b"a,y\n" + b"".join(b"%d,%d\n" % (i, i % 2) for i in range(40))

    def answer(handler):
        handler.send_response(200)
        handler.send_header("ETag", state["etag"])
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if handler.command == "GET":
            handler.wfile.write(data)
            state["etag"] = '"b"'  # replaced right after this download

    with raw_server(answer) as base:
        spec = DatasetSpec(source=f"{base}/data.csv", target="y")
        fingerprint = tasks.fingerprint(dataset=spec)
        with pytest.raises(Recoverable, match="the object changed since its fingerprint"):
            tasks.ingest(dataset=spec, source=fingerprint, split_params=SplitParams(), data_as_of=AS_OF)
        assert cached_keys("flyte.workflows.training.tasks.ingest") == []
        kept = tasks.ingest(dataset=spec, source=tasks.fingerprint(dataset=spec), split_params=SplitParams(), data_as_of=AS_OF)
    assert kept.profile.rows == 40 and len(cached_keys("flyte.workflows.training.tasks.ingest")) == 1
