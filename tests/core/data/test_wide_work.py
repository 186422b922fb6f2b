"""Wide tables cost work linear in the columns, with no Python step per column and batch: counted, not timed."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xgboost as xgb

from flyte.core.artifact import drift, drift_edges

from flyte.core.artifact import schema as schema_module

from flyte.core.data import tables
from flyte.core.data.dataset import DataProfile
from flyte.core.training.fit import _TableIter
from flyte.core.training.fit_memory import replayable
from flyte.core.data.leakage import sample_rows
from flyte.core.data.matrix import float_matrix
from flyte.core.artifact.model import ModelSchema, TrainedModel
from flyte.core.evaluation.report import COLUMNS_SHOWN, profile_tables
from flyte.core.publishing.model_card import fill_template

WIDTH = 600


def wide_table(directory, rows: int = 40, width: int = WIDTH, seed: int = 3):
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(rows, width))
    values[rng.random(values.shape) < 0.05] = np.nan
    directory.mkdir()
    data = {f"f{i}": values[:, i] for i in range(width)}
    data["y"] = (values[:, 0] > 0).astype(np.int64)
    pq.write_table(pa.table(data), directory / "part-00000.parquet", row_group_size=16)
    return directory, [f"f{i}" for i in range(width)], values


def count_casts(monkeypatch) -> list:
    calls = []
    original = pc.cast

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(pc, "cast", counted)
    return calls


def test_float_columns_convert_in_one_step_not_one_cast_per_column(tmp_path, monkeypatch):
    directory, features, values = wide_table(tmp_path / "t")
    casts = count_casts(monkeypatch)
    batch = next(tables.iter_batches(directory))
    x = float_matrix(batch, range(WIDTH))
    np.testing.assert_array_equal(x, values[:16])  # NaN where missing, the values elsewhere
    assert casts == []
    mixed = pa.record_batch({"a": pa.array([1, None], pa.int64()), "b": pa.array([0.5, 2.0])})
    np.testing.assert_array_equal(float_matrix(mixed, [0, 1]), [[1.0, 0.5], [np.nan, 2.0]])  # other types: cast
    # Column by column in memory on request, the same values: its transpose is C-ordered, features x rows.
    for source in (batch, mixed):
        by_column = float_matrix(source, range(source.num_columns), row_major=False)
        assert by_column.flags.f_contiguous and by_column.T.flags.c_contiguous
        np.testing.assert_array_equal(by_column, float_matrix(source, range(source.num_columns)))


def test_leakage_sample_and_booster_input_cast_no_float_column(tmp_path, monkeypatch):
    directory, features, values = wide_table(tmp_path / "t")
    casts = count_casts(monkeypatch)
    x, y = sample_rows(directory, features, {}, "y", {"0": 0, "1": 1}, "int", seed=1)
    np.testing.assert_array_equal(x, values.astype(np.float32))
    model = TrainedModel(booster=xgb.Booster(), schema=ModelSchema(target="y", features=features, labels=[0, 1], label_kind="int"))
    data, _ = model.booster_input(next(tables.iter_batches(directory)))
    assert data.shape == (16, WIDTH) and casts == []


def test_a_row_count_parses_the_footer_once_however_often_it_is_asked(tmp_path, monkeypatch):
    directory, features, _ = wide_table(tmp_path / "t")
    parsed = []
    original = pq.read_metadata
    monkeypatch.setattr(pq, "read_metadata", lambda *a, **k: parsed.append(1) or original(*a, **k))
    assert [tables.num_rows(directory) for _ in range(4)] == [40] * 4
    assert len(parsed) == 1


def test_reading_most_columns_of_a_wide_file_picks_them_by_position(tmp_path, monkeypatch):
    directory, features, values = wide_table(tmp_path / "t")
    asked = []
    original = pq.ParquetFile.read_row_group
    monkeypatch.setattr(pq.ParquetFile, "read_row_group", lambda self, i, columns=None, **k: asked.append(columns) or original(self, i, columns=columns, **k))
    wanted = [*reversed(features), "y"]
    batches = list(tables.iter_batches(directory, columns=wanted))
    assert asked == [None] * 3  # three row groups, no name lookups
    assert batches[0].schema.names == wanted
    np.testing.assert_array_equal(batches[0].column(0).to_numpy(zero_copy_only=False), values[:16, -1])


def test_booster_names_are_worked_out_once_per_feature_list(monkeypatch):
    calls = []
    original = schema_module.booster_names
    monkeypatch.setattr(schema_module, "booster_names", lambda f: calls.append(1) or original(f))
    s = ModelSchema(target="y", features=[f"once[{i}]" for i in range(50)])
    assert all(s.booster_features == [f"once({i})" for i in range(50)] for _ in range(5))
    assert len(calls) == 1


def test_an_in_memory_fit_decodes_a_small_table_once_for_all_of_xgboosts_passes(tmp_path):
    directory, features, _ = wide_table(tmp_path / "t", width=30)
    model = TrainedModel(booster=xgb.Booster(), schema=ModelSchema(target="y", features=features, labels=[0, 1], label_kind="int"))
    replayed, fresh = (_TableIter(directory, model, {"0": 0, "1": 1}, replay=r) for r in (True, False))
    matrices = [xgb.QuantileDMatrix(it, max_bin=16) for it in (replayed, fresh)]
    assert replayed.reads == 1 and fresh.reads > 1  # XGBoost passes over its input more than once
    assert all(m.num_row() == 40 for m in matrices)
    assert replayable(1000, 1000) and not replayable(100_000, 50_000)


def reference_edges(values: np.ndarray) -> list[float]:
    """The per-column definition the vectorised edges must reproduce."""
    values = values[~np.isnan(values)]
    if values.size == 0:
        return []
    cuts = np.quantile(values, np.arange(1, drift_edges.NUMERIC_BINS) / drift_edges.NUMERIC_BINS, method="inverted_cdf")
    return [float(v) for v in np.unique(cuts) if v < values.max()]


def test_edges_and_counts_for_all_features_at_once_equal_the_per_feature_definition():
    rng = np.random.default_rng(5)
    sample = np.round(rng.normal(size=(37, 40)), 1)  # ties
    sample[rng.random(sample.shape) < 0.2] = np.nan
    sample[:, 3] = np.nan  # all missing
    sample[:, 4] = 1.0  # constant
    sample[:3, 5], sample[3:, 5] = np.nan, rng.integers(0, 3, 34)  # few distinct values
    got = drift_edges.edges_from_samples(sample)
    assert got == [reference_edges(sample[:, j]) for j in range(sample.shape[1])]
    names = [f"x{j}" for j in range(sample.shape[1])]
    ref = drift.empty_reference(len(sample), names, {}, dict(zip(names, got)))
    counter = drift.DriftCounter(ref)
    counter.add(pa.record_batch({n: sample[:, j] for j, n in enumerate(names)}))
    for j, n in enumerate(names):
        x = sample[:, j]
        codes = np.searchsorted(np.asarray(got[j], dtype=np.float64), x, side="left")
        codes[np.isnan(x)] = len(got[j]) + 1
        assert counter.counts[n].tolist() == np.bincount(codes, minlength=len(got[j]) + 2).tolist()


def test_the_reference_json_is_the_dataclass_document():
    import dataclasses
    import json

    ref = drift.empty_reference(3, ["a", "c"], {"c": ["p", "q"]}, {"a": [0.5, 1.5]})
    ref = drift.counted(ref, {"a": np.array([1, 1, 1, 0]), "c": np.array([2, 1, 0, 0])})
    assert json.loads(ref.to_json()) == json.loads(json.dumps(dataclasses.asdict(ref)))
    assert list(json.loads(ref.to_json())["features"]) == ["a", "c"]


def test_pages_list_at_most_columns_shown_and_count_the_rest():
    width = COLUMNS_SHOWN * 3
    columns = [f"f{i}" for i in range(width)]
    profile = DataProfile(
        rows=10, columns=width + 1, target="y", labels=["0", "1"], feature_columns=columns,
        dtypes={**{c: "double" for c in columns}, "y": "int64"}, missing={"f250": 4}, class_counts={"0": 5, "1": 5},
    )  # fmt: skip
    html = profile_tables(profile)
    assert html.count("<tr><td>") - 3 == COLUMNS_SHOWN  # the column rows, less the summary and two class-balance rows
    assert f"{width + 1 - COLUMNS_SHOWN} more columns not listed" in html
    assert "<b>y</b>" in html and ">f250<" in html  # the target and the column with missing values come first
    text = fill_template("$features", profile, "wide.parquet")
    assert text.endswith(f"and {width - COLUMNS_SHOWN} more") and text.count(",") == COLUMNS_SHOWN - 1


def test_row_hashes_of_float_columns_take_no_cast_per_column_and_equal_the_per_column_definition(monkeypatch):
    from flyte.core.data import row_hash as rh
    rng = np.random.default_rng(9)
    data = {f"f{i}": rng.normal(size=25) for i in range(WIDTH)}
    data["f1"][[0, 1, 2]] = [np.nan, -0.0, 0.0]
    data["k"], data["y"] = pa.array([None, *(f"v{i % 4}" for i in range(24))]), pa.array([i % 2 for i in range(25)])
    batch = pa.record_batch(data)
    names = [n for n in batch.schema.names]
    h = np.full(25, rh.mix64(np.array([7], dtype=np.uint64))[0], dtype=np.uint64)
    with np.errstate(over="ignore"):
        for name in sorted(names):  # the canonical form, one column at a time
            value = rh.column_hash(batch.column(name), "int" if name == "y" else None)
            h = rh.mix64((h * rh._FOLD) ^ rh.mix64(value ^ rh.text_hash(name)))
        h = rh.mix64(h ^ np.uint64(7))
    expected = (h >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))
    casts = count_casts(monkeypatch)
    np.testing.assert_array_equal(rh.row_u(batch, names, 7, "y", "int"), expected)
    assert len(casts) <= 2  # the target's and the text column's, never one per float column
