"""Tests for flyte.core.batch.intake: new rows checked against a model's schema, every refusal, and what is counted."""

from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flyte.core.data.dataset import DatasetSpec
from flyte.core.artifact.drift import build_reference
from flyte.core.common.errors import DataValidationError
from flyte.core.batch.intake import BatchOptions, check_rows
from flyte.core.artifact.schema import ModelSchema
from tests.data_factory import read_frame

#: When drift is flagged, as config sets it: PSI past 0.25, from 30 rows, family-wise p below 0.01.
DRIFT = dict(drift_threshold=0.25, drift_min_rows=30, drift_alpha=0.01)
SCHEMA = ModelSchema(target="label", features=["x1", "colour"], categories={"colour": ["blue", "red"]},
                     labels=["no", "yes"], label_kind="str")  # fmt: skip


@pytest.fixture
def reference(tmp_path):
    from flyte.core.data.tables import TableWriter

    table = pa.table({"x1": [float(i) for i in range(20)], "colour": ["blue", "red"] * 10})
    with TableWriter(tmp_path / "train", table.schema) as writer:
        writer.write(table.to_batches()[0])
        writer.commit()
    return build_reference(tmp_path / "train", SCHEMA.features, SCHEMA.categories)


def run(tmp_path, reference, text: str, target: str = "", options: BatchOptions | None = None, name: str = "rows.csv"):
    path = tmp_path / name
    path.write_text(text)
    spec = DatasetSpec(source=str(path), target=target)
    return check_rows(path, spec, SCHEMA, reference, options or BatchOptions(), tmp_path / "out", **DRIFT)


def test_rows_without_a_target_are_checked_and_counted(tmp_path, reference):
    text = "id,x1,colour,note\nA1,1.5,red,x\nA2,,green,y\nA3,2,,z\nA4,3,purple,w\n"
    summary, drift, sha = run(tmp_path, reference, text, options=BatchOptions(passthrough_columns=["id"]))
    assert summary.rows == 4 and not summary.has_target
    assert summary.extra_columns == ["note"]
    assert summary.unseen_categories == {"colour": 2} and summary.unseen_examples == {"colour": ["green", "purple"]}
    assert summary.missing == {"x1": 1, "colour": 1}
    out = read_frame(tmp_path / "out")
    assert list(out.columns) == ["id", "x1", "colour"] and list(out.id) == ["A1", "A2", "A3", "A4"]
    assert drift.rows == 4 and [f.feature for f in drift.features] == ["x1", "colour"] and len(sha) == 64


def test_a_missing_feature_is_refused_naming_it_and_nothing_is_written(tmp_path, reference):
    with pytest.raises(DataValidationError, match=r"lacks feature column\(s\) \['colour'\]"):
        run(tmp_path, reference, "x1,other\n1,2\n")
    assert not (tmp_path / "out").exists()


def test_a_type_mismatch_in_csv_names_the_column_value_and_line(tmp_path, reference):
    with pytest.raises(DataValidationError, match=r"column 'x1' holds non-numeric value 'oops' at line 3; the model was trained on numbers") as info:
        run(tmp_path, reference, "x1,colour\n1,red\noops,blue\n")
    assert "categorical_columns" not in info.value.message and "missing_values" in info.value.hint
    assert not (tmp_path / "out").exists()


def test_a_type_mismatch_in_parquet_names_the_column_value_and_row(tmp_path, reference):
    path = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"x1": ["1", "2", "x" * 300], "colour": ["red", "blue", "red"]}), path)
    spec = DatasetSpec(source=str(path))
    with pytest.raises(DataValidationError, match=r"column 'x1' holds non-numeric value 'xxx.*\(300 characters\)' at row 3"):
        check_rows(path, spec, SCHEMA, reference, BatchOptions(), tmp_path / "out", **DRIFT)
    assert not (tmp_path / "out").exists()


def test_a_label_the_model_does_not_know_is_refused_naming_it_and_the_line(tmp_path, reference):
    with pytest.raises(DataValidationError, match=r"holds label 'maybe' at line 4, which the model does not know"):
        run(tmp_path, reference, "x1,colour,label\n1,red,yes\n2,blue,no\n3,red,maybe\n", target="label")
    with pytest.raises(DataValidationError, match=r"missing label at line 3"):
        run(tmp_path, reference, "x1,colour,label\n1,red,yes\n2,blue,\n", target="label")
    assert not (tmp_path / "out").exists()


def test_known_labels_are_kept_and_counted(tmp_path, reference):
    summary, _, _ = run(tmp_path, reference, "x1,colour,label\n1,red,yes\n2,blue,no\n3,red,yes\n", target="label")
    assert summary.has_target and summary.class_counts == {"no": 1, "yes": 2}
    assert list(read_frame(tmp_path / "out").columns) == ["x1", "colour", "label"]


def test_an_absent_passthrough_column_and_a_wrong_target_are_refused(tmp_path, reference):
    with pytest.raises(DataValidationError, match=r"passthrough column\(s\) \['id'\] not found"):
        run(tmp_path, reference, "x1,colour\n1,red\n", options=BatchOptions(passthrough_columns=["id"]))
    with pytest.raises(DataValidationError, match="not the model's target 'label'"):
        run(tmp_path, reference, "x1,colour,y\n1,red,no\n", target="y")
    with pytest.raises(DataValidationError, match="target column 'label' not found"):
        run(tmp_path, reference, "x1,colour\n1,red\n", target="label")


@pytest.mark.parametrize(
    "raw,message",
    [
        ({"passthrough_columns": ["predicted_label"]}, "would collide with the prediction columns"),
        ({"passthrough_columns": ["probability_yes"]}, "would collide with the prediction columns"),
        ({"passthrough_columns": ["id", "id"]}, "repeats a name"),
        ({"passthrough": ["id"]}, "unknown key 'passthrough'"),
        ({"export_csv": "yes"}, "export_csv must be true or false"),
    ],
)
def test_batch_options_are_strict(raw, message):
    import json

    with pytest.raises(DataValidationError, match=message):
        BatchOptions.from_json(json.dumps(raw))


def test_parquet_rows_with_numeric_ids_pass_through_as_text(tmp_path, reference):
    path = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"id": [7, 8], "x1": [1.0, None], "colour": pd.Categorical(["red", "blue"])}), path)
    summary, _, _ = check_rows(path, DatasetSpec(source=str(path)), SCHEMA, reference,
                               BatchOptions(passthrough_columns=["id"]), tmp_path / "out", **DRIFT)  # fmt: skip
    assert summary.rows == 2 and summary.missing == {"x1": 1, "colour": 0}
    assert list(read_frame(tmp_path / "out").id) == ["7", "8"]


@pytest.mark.parametrize(
    "lists, message",
    [
        ({"feature_columns": ["x1"]}, "differ from the model's features"),
        ({"categorical_columns": ["x1", "colour"]}, "differ from the model's categorical features"),
        ({"drop_columns": ["colour"]}, "drop_columns ['colour'] are features the model needs"),
    ],
)
def test_feature_lists_that_contradict_the_model_are_refused(tmp_path, reference, lists, message):
    path = tmp_path / "rows.csv"
    path.write_text("x1,colour\n1,red\n")
    spec = DatasetSpec(source=str(path), **lists)
    with pytest.raises(DataValidationError, match=re.escape(message)):
        check_rows(path, spec, SCHEMA, reference, BatchOptions(), tmp_path / "out", **DRIFT)
    assert not (tmp_path / "out").exists()


def test_the_training_specs_own_lists_are_accepted(tmp_path, reference):
    """Reusing the training spec (same features, categories, an ID dropped) is natural, and agrees with the model."""
    path = tmp_path / "rows.csv"
    path.write_text("id,x1,colour\n7,1,red\n8,2,blue\n")
    spec = DatasetSpec(source=str(path), feature_columns=["colour", "x1"], categorical_columns=["colour"], drop_columns=["id"])
    summary, _, _ = check_rows(path, spec, SCHEMA, reference, BatchOptions(), tmp_path / "out", **DRIFT)
    assert summary.rows == 2 and summary.extra_columns == ["id"]


def test_a_spec_of_the_other_problem_type_is_refused_only_when_it_says_something_about_the_rows():
    from flyte.core.artifact.schema import ModelSchema
    from flyte.core.batch.intake import check_problem_type

    regression = ModelSchema(target="y", features=["a"], problem_type="regression", label_kind="float")
    classifier = ModelSchema(target="y", features=["a"], labels=[0, 1], label_kind="int")
    check_problem_type(DatasetSpec(source="new.csv"), regression)  # no target: nothing to contradict
    check_problem_type(DatasetSpec(source="new.csv", target="y", problem_type="regression"), regression)
    with pytest.raises(DataValidationError, match="the spec's problem_type is 'classification', but the model is a regression model of 'y'"):
        check_problem_type(DatasetSpec(source="new.csv", target="y"), regression)
    with pytest.raises(DataValidationError, match="the spec's problem_type is 'regression', but the model is a classification model"):
        check_problem_type(DatasetSpec(source="new.csv", problem_type="regression"), classifier)
