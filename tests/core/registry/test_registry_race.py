"""Concurrent promotions: exactly one wins, the losers say the champion moved, nothing is reverted, duplicated or
deleted; on local disk (processes) and on a real S3-protocol server over HTTP (threads)."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from flyte.core.training.fit import train_model
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.artifact.manifest import MANIFEST_FILE
from flyte.core.artifact.model import save_model
from flyte.core.registry.registry import ChampionMoved, Registry
from flyte.core.registry.store import ConditionalStore
from tests.data_factory import binary_frame, split_frame
from tests.s3_server import s3, s3_server  # noqa: F401 (fixtures)

PROMOTERS = 8
ROUNDS = 3
T0 = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """PROMOTERS + 1 different saved models (rounds 2..10, seeds 0..8), so every round has PROMOTERS that are not the champion."""
    base = tmp_path_factory.mktemp("models")
    parts, profile = split_frame(base, binary_frame(200), "y")
    made = [
        save_model(train_model(parts["train"], parts["validation"], profile, Hyperparameters(max_rounds=2 + i, seed=i)), base / f"m{i}")
        for i in range(PROMOTERS + 1)
    ]
    assert len({(m / MANIFEST_FILE).read_bytes() for m in made}) == len(made)  # no two share bytes (and so a version)
    return made


@pytest.fixture(params=["local", "s3"])
def location(request, tmp_path):
    if request.param == "local":
        return str(tmp_path / "registry" / "pima")
    return request.getfixturevalue("s3").url("registry/pima")


def _attempt(location, model, when, expected, barrier) -> str:
    """One promoter: wait for the others, promote; "won:<version>" or "moved"."""
    barrier.wait(timeout=60)
    try:
        return "won:" + Registry(location).promote(model, ["race"], when, expected_champion=expected).version
    except ChampionMoved:
        return "moved"


def _in_process(location, model, when, expected, barrier, results, index) -> None:
    results[index] = _attempt(location, model, when, expected, barrier)


def _race(location, models, when, expected) -> list[str]:
    """PROMOTERS promotions at once, each of another model, all judged against ``expected``."""
    if location.startswith("s3://"):
        barrier = threading.Barrier(len(models))
        with ThreadPoolExecutor(len(models)) as pool:
            return list(pool.map(lambda m: _attempt(location, m, when, expected, barrier), models))
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(len(models)), context.Manager().list([""] * len(models))
    processes = [context.Process(target=_in_process, args=(location, m, when, expected, barrier, results, i)) for i, m in enumerate(models)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=120)
    assert all(p.exitcode == 0 for p in processes)
    return list(results)


def test_eight_concurrent_promoters_one_winner_per_round(location, models):
    registry = Registry(location)
    winners, expected = [], ""
    for round_ in range(ROUNDS):
        before = set(registry.versions())
        champion_model = None if not winners else winners[-1][1]
        contenders = [m for m in models if m != champion_model][:PROMOTERS]
        results = _race(location, contenders, T0 + timedelta(days=round_), expected)
        won = [(r.split(":", 1)[1], contenders[i]) for i, r in enumerate(results) if r.startswith("won:")]
        assert len(won) == 1, results
        assert results.count("moved") == PROMOTERS - 1
        pointer = registry.champion()
        assert pointer.version == won[0][0]  # the winner's promotion stands: nothing reverted it
        after = registry.versions()
        assert before <= set(after)  # nothing deleted
        digests = [registry.manifest_digest(v) for v in after]
        assert all(digests) and len(set(digests)) == len(after)  # each model stored once, every version complete
        winners.append(won[0])
        expected = pointer.identity
    assert {v for v, _ in winners} <= set(registry.versions())


def test_concurrent_writers_of_one_model_make_one_version(location, models):
    """Eight writers of the same bytes, each at its own time: one version, whichever writer names it."""
    barrier = threading.Barrier(PROMOTERS)

    def publish(i):
        barrier.wait(timeout=60)
        return Registry(location).publish(models[0], T0 + timedelta(seconds=i))

    with ThreadPoolExecutor(PROMOTERS) as pool:
        names = set(pool.map(publish, range(PROMOTERS)))
    assert len(names) == 1 and Registry(location).versions() == sorted(names)


def test_a_promotion_stalled_in_its_pointer_write_loses_to_the_one_that_finished(location, models, monkeypatch):
    """A checks the champion, then stalls inside the pointer write (a slow upload); B is judged against the same
    champion and promoted meanwhile. A must fail with ChampionMoved, and B stays the champion."""
    first = Registry(location).promote(models[0], ["first"], T0, expected_champion="")
    a_writing, b_done = threading.Event(), threading.Event()
    write = ConditionalStore.put_if

    def slow_for_a(self, path, data, token):
        if threading.current_thread().name == "promoter-a" and path.endswith("champion.json"):
            a_writing.set()
            assert b_done.wait(timeout=60)
        return write(self, path, data, token)

    monkeypatch.setattr(ConditionalStore, "put_if", slow_for_a)
    outcome = {}

    def promote_a():
        try:
            outcome["a"] = Registry(location).promote(models[1], ["a"], T0 + timedelta(days=1), expected_champion=first.identity)
        except ChampionMoved as exc:
            outcome["a"] = exc

    a = threading.Thread(target=promote_a, name="promoter-a")
    a.start()
    assert a_writing.wait(timeout=60)
    b = Registry(location).promote(models[2], ["b"], T0 + timedelta(days=2), expected_champion=first.identity)
    b_done.set()
    a.join(timeout=60)
    assert isinstance(outcome["a"], ChampionMoved), outcome
    assert f"the champion is {b.identity}" in outcome["a"].message
    assert Registry(location).champion() == b
