"""Synthetic tables the tests make for themselves: tiny frames and a second dataset shape."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from flyte.core.data.ingest import DatasetSpec

MIXED_CATEGORICAL = ["colour", "size"]
MIXED_LABELS = ["alpha", "beta", "gamma"]


def mixed_frame(rows: int = 360, seed: int = 0) -> pd.DataFrame:
    """A multiclass table with string labels, categorical text features and missing values.

    The label depends on a numeric feature and a category, plus noise, so a model can learn it
    well but not perfectly.
    """
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=rows)
    x2 = rng.normal(size=rows)
    colour = rng.choice(["red", "green", "blue"], size=rows)
    size = rng.choice(["S", "M", "L", "XL"], size=rows)
    score = x1 + np.where(colour == "red", 1.5, np.where(colour == "blue", -1.5, 0.0)) + rng.normal(scale=0.4, size=rows)
    label = np.where(score > 0.7, "gamma", np.where(score < -0.7, "alpha", "beta"))
    df = pd.DataFrame({"x1": x1, "x2": x2, "colour": colour, "size": size, "label": label})
    # Knock out some feature values: XGBoost must route them natively.
    df.loc[rng.random(rows) < 0.08, "x2"] = np.nan
    df["colour"] = df["colour"].astype(object)
    df.loc[rng.random(rows) < 0.05, "colour"] = None
    return df


def write_mixed_csv(path: Path, rows: int = 360, seed: int = 0) -> DatasetSpec:
    """Write the mixed table as a CSV with a header; return the spec that reads it."""
    mixed_frame(rows, seed).to_csv(path, index=False)
    return DatasetSpec(source=str(path), has_header=True, target="label", categorical_columns=list(MIXED_CATEGORICAL))


def binary_frame(rows: int = 120, seed: int = 1) -> pd.DataFrame:
    """A small numeric binary table (labels 0/1) that is easy to learn."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=rows)
    b = rng.normal(size=rows)
    y = ((a + 0.5 * b + rng.normal(scale=0.3, size=rows)) > 0).astype(int)
    return pd.DataFrame({"a": a, "b": b, "y": y})


def regression_frame(rows: int = 300, seed: int = 2) -> pd.DataFrame:
    """A small table with a positive numeric target ``y`` (a noisy sum of a numeric and a categorical effect)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=rows)
    colour = rng.choice(["red", "green", "blue"], size=rows)
    y = 10 + 3 * a + np.select([colour == "red", colour == "green"], [4.0, -2.0], 0.0) + rng.normal(scale=0.5, size=rows)
    return pd.DataFrame({"a": a, "colour": colour, "y": np.maximum(y, 0.0)})


def ingest_frame(tmp_path: Path, df: pd.DataFrame, target: str, categorical: list[str] = (), name: str = "data",
                 problem_type: str = "classification"):  # fmt: skip
    """Write ``df`` as a CSV and ingest it: returns the table directory and its profile."""
    from flyte.core.data.ingest import ingest_table

    csv = tmp_path / f"{name}.csv"
    df.to_csv(csv, index=False)
    spec = DatasetSpec(source=str(csv), has_header=True, target=target, categorical_columns=list(categorical),
                       problem_type=problem_type)  # fmt: skip
    result = ingest_table(csv, spec, tmp_path / f"{name}-table")
    return tmp_path / f"{name}-table", result.profile


def split_frame(tmp_path: Path, df: pd.DataFrame, target: str, categorical: list[str] = (), seed: int = 7,
                problem_type: str = "classification"):  # fmt: skip
    """Ingest ``df`` and split it: returns {part name: table directory} and the profile."""
    from flyte.core.data.split import PART_NAMES, SplitParams, split_table

    table, profile = ingest_frame(tmp_path, df, target, categorical, problem_type=problem_type)
    parts = {name: tmp_path / name for name in PART_NAMES}
    split_table(table, profile, SplitParams(seed=seed), parts)
    return parts, profile


def read_frame(directory: Path) -> pd.DataFrame:
    """A table directory as a pandas frame, for assertions on small test tables."""
    import pyarrow.parquet as pq

    from flyte.core.data.tables import part_files

    return pd.concat([pq.read_table(p).to_pandas() for p in part_files(directory)], ignore_index=True)


def saved_models(base: Path, rounds: tuple[int, ...] = (5, 12)) -> list[Path]:
    """Saved binary models that differ (seed i, ``rounds[i]`` boosting rounds), trained on one 200-row table."""
    from flyte.core.training.fit import train_model
    from flyte.core.training.hyperparameters import Hyperparameters
    from flyte.core.artifact.model import save_model

    parts, profile = split_frame(base, binary_frame(200), "y")
    return [save_model(train_model(parts["train"], parts["validation"], profile, Hyperparameters(max_rounds=r, seed=i)),
                       base / f"model{i}") for i, r in enumerate(rounds)]  # fmt: skip
