"""Tests for strict parameters: every route into a task refuses unknown keys, wrong types and bad values."""

from __future__ import annotations

import json

import msgpack
import pytest
from mashumaro.codecs.json import JSONDecoder
from mashumaro.codecs.msgpack import MessagePackDecoder

from flyte.core.data.dataset import DatasetSpec, pima_spec
from flyte.core.common.errors import DataValidationError
from flyte.core.training.hyperparameters import Hyperparameters
from flyte.core.data.split import SplitParams

GOOD = {"source": "x.csv", "target": "glucose"}


def decoders(cls):
    """The three ways a raw dict becomes a parameter: `pyflyte run`'s from_json, and a pod's JSON or msgpack literal."""
    return {
        "cli": lambda raw: cls.from_json(json.dumps(raw)),
        "json literal": lambda raw: JSONDecoder(cls).decode(json.dumps(raw)),
        "msgpack literal": lambda raw: MessagePackDecoder(cls).decode(msgpack.packb(raw)),
    }


@pytest.mark.parametrize("route", ["cli", "json literal", "msgpack literal"])
def test_unknown_key_is_refused_with_the_closest_valid_one(route):
    with pytest.raises(DataValidationError, match=r"DatasetSpec: unknown key 'targte'; did you mean 'target'\?"):
        decoders(DatasetSpec)[route]({"source": "x.csv", "has_header": True, "targte": "glucose"})
    with pytest.raises(DataValidationError, match=r"Hyperparameters: unknown key 'n_estimators'"):
        decoders(Hyperparameters)[route]({"n_estimators": 5})


@pytest.mark.parametrize("route", ["cli", "json literal", "msgpack literal"])
def test_text_is_not_a_bool_and_a_bool_is_not_a_number(route):
    with pytest.raises(DataValidationError, match=r"DatasetSpec.has_header must be true or false, got 'false'"):
        decoders(DatasetSpec)[route]({**GOOD, "has_header": "false"})
    with pytest.raises(DataValidationError, match=r"SplitParams.seed must be a whole number, got True"):
        decoders(SplitParams)[route]({"seed": True})
    with pytest.raises(DataValidationError, match=r"DatasetSpec.categorical_columns must be a list of text"):
        decoders(DatasetSpec)[route]({**GOOD, "categorical_columns": "colour"})


@pytest.mark.parametrize("route", ["cli", "json literal", "msgpack literal"])
def test_good_values_build_the_same_object_on_every_route(route):
    raw = {**GOOD, "has_header": False, "column_names": ["glucose", "age"], "delimiter": ";", "min_rows_per_class": 3}
    assert decoders(DatasetSpec)[route](raw) == DatasetSpec(**raw)
    assert decoders(Hyperparameters)[route]({"learning_rate": 1}) == Hyperparameters(learning_rate=1)


def test_the_generic_spec_carries_no_dataset_and_pima_is_a_preset():
    with pytest.raises(DataValidationError, match="DatasetSpec.source is required"):
        DatasetSpec(target="y")
    assert DatasetSpec(source="x.csv").target == ""  # batch rows may carry no labels; training refuses it at ingest
    with pytest.raises(DataValidationError, match="target must name a column"):
        DatasetSpec(source="x.csv", target="  ")
    with pytest.raises(DataValidationError, match="target 'y' cannot be dropped"):
        DatasetSpec(source="x.csv", target="y", drop_columns=["y"])
    DatasetSpec(source="x.csv", drop_columns=["y"], categorical_columns=["c"])  # no target: nothing to collide with
    with pytest.raises(DataValidationError, match="column_names must list the columns when has_header is false"):
        DatasetSpec(source="x.csv", target="y", has_header=False)
    assert DatasetSpec(**GOOD).column_names == []
    assert pima_spec().column_names[-1] == "class" and pima_spec().expected_labels == ["0", "1"]


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"delimiter": ",,"}, "delimiter must be one character"),
        ({"encoding": "klingon"}, "encoding 'klingon' is not a known text encoding"),
        ({"file_format": "xlsx"}, "file_format must be auto, csv or parquet"),
        ({"skip_rows": -1}, "skip_rows must be 0 or more"),
        ({"min_rows_per_class": 0}, "min_rows_per_class must be 1 or more"),
        ({"categorical_columns": ["glucose"]}, "target 'glucose' cannot also be a categorical feature"),
        ({"drop_columns": ["age"], "feature_columns": ["age"]}, r"column\(s\) \['age'\] are both dropped and used"),
        ({"expected_labels": ["1"]}, "expected_labels must list two or more distinct labels"),
        ({"expected_labels": ["0", "1"], "positive_label": "2"}, "positive_label '2' is not one of expected_labels"),
    ],
)
def test_dataset_values_are_checked(kwargs, message):
    with pytest.raises(DataValidationError, match=message):
        DatasetSpec(**GOOD, **kwargs)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"max_rounds": 0}, "max_rounds and early_stopping_rounds must be at least 1"),
        ({"learning_rate": 0.0}, "learning_rate must be above 0"),
        ({"subsample": 1.5}, r"subsample must be in \(0, 1\]"),
        ({"external_memory": "sometimes"}, "external_memory must be one of"),
        ({"max_bin": 1024}, "max_bin must be between 2 and 256"),
        ({"max_rounds": 1_000_000_000}, "max_rounds must be at most 10000, got 1000000000"),
        ({"early_stopping_rounds": 10**7}, "early_stopping_rounds must be at most 10000"),
        ({"learning_rate": 50.0}, "learning_rate must be above 0 and at most 1"),
        ({"learning_rate": float("nan")}, "learning_rate must be a finite number"),
        ({"reg_lambda": float("inf")}, "reg_lambda must be a finite number"),
        ({"max_depth": 1000}, "max_depth must be 0 \\(no limit\\) to 16"),
        ({"seed": 2**40}, "seed must be 0 to 4294967295"),
    ],
)
def test_hyperparameter_values_are_checked(kwargs, message):
    with pytest.raises(DataValidationError, match=message):
        Hyperparameters(**kwargs)


@pytest.mark.parametrize("field,value", [("test_ratio", 0.0), ("test_ratio", 1.0), ("validation_ratio", -0.1)])
def test_ratios_outside_zero_one_are_refused(field, value):
    with pytest.raises(DataValidationError, match=f"split {field} must be between 0 and 1 exclusive, got {value}"):
        SplitParams(**{field: value})
