"""Conditional writes: a dead lock holder blocks nobody (local), and the GCS requests are the documented ones."""

from __future__ import annotations

import multiprocessing
import os
import signal

import fsspec
import pytest

from flyte.core.common.errors import DataValidationError
from flyte.core.registry.store import ConditionalStore, Conflict


def _hold_the_lock(root: str, held) -> None:
    store = ConditionalStore(*fsspec.core.url_to_fs(root), root)
    with store.lock():
        held.set()
        signal.pause()  # killed while holding it


def test_a_writer_killed_while_holding_the_lock_leaves_no_stale_lock(tmp_path):
    root = str(tmp_path / "entry")
    context = multiprocessing.get_context("fork")
    held = context.Event()
    holder = context.Process(target=_hold_the_lock, args=(root, held))
    holder.start()
    assert held.wait(timeout=60)
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(timeout=60)
    store = ConditionalStore(*fsspec.core.url_to_fs(root), root)
    store.replace(f"{root}/champion.json", b"new", "")  # the kernel released the dead holder's lock
    assert store.read(f"{root}/champion.json").data == b"new"


def test_local_compare_and_set_and_create_once(tmp_path):
    root = str(tmp_path / "entry")
    store = ConditionalStore(*fsspec.core.url_to_fs(root), root)
    path = f"{root}/champion.json"
    assert store.create(path, b"a") and not store.create(path, b"b")
    first = store.read(path)
    store.replace(path, b"c", first.token)
    with pytest.raises(Conflict):
        store.replace(path, b"d", first.token)  # written since it was read
    assert store.read(path).data == b"c"
    assert sorted(p.name for p in (tmp_path / "entry").iterdir()) == [".lock", "champion.json"]  # no temporaries left


class FakeGcs:
    """Records gcsfs ``call``s and answers them as the JSON API documents: media downloads carry x-goog-generation,
    an upload whose ifGenerationMatch is not the live generation gets 412 (gcsfs raises FileExistsError)."""

    protocol = ("gs", "gcs")
    _location = "https://storage.googleapis.com"

    def __init__(self):
        self.objects: dict[str, tuple[bytes, int]] = {}
        self.calls = []

    def split_path(self, path):
        bucket, key = path.split("/", 1)
        return bucket, key, None

    def invalidate_cache(self, path=None):
        pass

    def call(self, method, path, *args, **kwargs):
        self.calls.append((method, path, args, kwargs))
        if method == "GET":
            key = args[1]
            if key not in self.objects:
                raise FileNotFoundError(key)
            data, generation = self.objects[key]
            assert kwargs == {"alt": "media"}
            return {"x-goog-generation": str(generation)}, data
        key, wanted = kwargs["name"], int(kwargs["ifGenerationMatch"])
        live = self.objects.get(key, (b"", 0))[1]
        if wanted != live:
            raise FileExistsError(key)
        self.objects[key] = (kwargs["data"], live + 1)
        return {"generation": str(live + 1)}


def test_gcs_uses_generation_preconditions():
    fs = FakeGcs()
    store = ConditionalStore(fs, "bucket/registry/pima", "gs://bucket/registry/pima")
    path = "bucket/registry/pima/champion.json"
    assert store.kind == "gcs" and store.read(path).data is None
    assert store.create(path, b"a")
    method, url, args, kwargs = fs.calls[-1]
    assert (method, url, args) == ("POST", "https://storage.googleapis.com/upload/storage/v1/b/{}/o", ("bucket",))
    assert kwargs["uploadType"] == "media" and kwargs["ifGenerationMatch"] == "0"  # create: only if there is none
    first = store.read(path)
    assert first.token == "1" and first.data == b"a"
    store.replace(path, b"b", first.token)
    assert fs.calls[-1][3]["ifGenerationMatch"] == "1"
    with pytest.raises(Conflict):
        store.replace(path, b"c", first.token)  # generation 2 now
    assert not store.create(path, b"d") and store.read(path).data == b"b"


def test_a_store_without_conditional_writes_is_refused_for_writing():
    class Other:
        protocol = ("ftp",)

    with pytest.raises(DataValidationError, match="needs conditional writes"):
        ConditionalStore(Other(), "x", "ftp://host/x").replace("x/champion.json", b"a", "")
