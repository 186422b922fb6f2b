"""Batch prediction's first stage: stream new rows, check them against a model's schema, and count their drift."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flyte.core.data import labels as lbl
from flyte.core.data.dataset import DatasetSpec, checked_file, resolve_format
from flyte.core.artifact.drift import DriftCounter, DriftSummary, Reference, summarize
from flyte.core.common.errors import DataValidationError, shorten, shorten_names
from flyte.core.batch.model_source import read_model_files
from flyte.core.evaluation.predict import PREDICTED_COLUMN, PREDICTION_COLUMN, PROBABILITY_PREFIX
from flyte.core.data.target import values as target_values
from flyte.core.data.formats.parquet_reader import ParquetSource
from flyte.core.data.formats.csv_reader import CsvSource, LineTooLong, Roles
from flyte.core.artifact.schema import ModelSchema
from flyte.core.data.tables import TableWriter, prefetch
from flyte.core.common.validation import check_types, require, strict

log = logging.getLogger(__name__)


@strict
@dataclass
class BatchOptions:
    """How a batch is scored. Unknown keys and wrong types are refused.

    passthrough_columns: columns of the new rows copied, as text, into the predictions (an ID, say), in this
        order; each must exist in the rows and must not be named like a prediction column.
    export_csv: also write the predictions as a CSV file (a second output).
    """

    passthrough_columns: list[str] = field(default_factory=list)
    export_csv: bool = False

    def __post_init__(self) -> None:
        check_types(self)
        names = self.passthrough_columns
        require(len(set(names)) == len(names), f"BatchOptions.passthrough_columns repeats a name: {names}")
        require(all(n.strip() for n in names), "BatchOptions.passthrough_columns holds an empty name")
        clash = [n for n in names if n in (PREDICTED_COLUMN, PREDICTION_COLUMN) or n.startswith(PROBABILITY_PREFIX)]
        require(not clash, f"BatchOptions.passthrough_columns {clash} would collide with the prediction columns "
                           f"({PREDICTED_COLUMN!r}, {PROBABILITY_PREFIX}<label>, {PREDICTION_COLUMN!r})")  # fmt: skip


@dataclass
class CheckSummary:
    """What checking the new rows found.

    rows: rows read. has_target: whether they carry true labels (the spec named a target).
    extra_columns: columns in the rows that the model does not use and nobody asked to pass through (ignored).
    unseen_categories: per categorical feature, values never seen in training (scored as missing).
    missing: per feature, rows with no value (null or NaN). class_counts: per known label, rows (with a target).
    """

    rows: int = 0
    has_target: bool = False
    extra_columns: list[str] = field(default_factory=list)
    unseen_categories: dict[str, int] = field(default_factory=dict)
    unseen_examples: dict[str, list[str]] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    class_counts: dict[str, int] = field(default_factory=dict)


#: Distinct unseen values kept per column as examples for the report.
UNSEEN_EXAMPLES = 5


def check_rows(
    path: Path, spec: DatasetSpec, schema: ModelSchema, reference: Reference, options: BatchOptions,
    destination: Path, drift_threshold: float, drift_min_rows: int, drift_alpha: float,
) -> tuple[CheckSummary, DriftSummary, str]:  # fmt: skip
    """Read ``path`` (a local copy of ``spec.source``) batch by batch, check every row against ``schema``, and write
    the model's features, the passthrough columns and (when the spec names one) the target into the new table
    ``destination``. Returns the check summary, the drift against ``reference`` and the table's sha256.
    ``drift_threshold`` / ``drift_min_rows`` / ``drift_alpha``: when a feature's drift is flagged (``drift.summarize``).

    Feature roles come from the model's schema, never from the spec's feature lists. Refused with a
    DataValidationError, with nothing written: a missing feature or passthrough column, a non-numeric value in a
    numeric feature (naming column, value and line), a label the model does not know or a missing one.
    """
    path = Path(path)
    checked_file(path, spec.source)
    if spec.target and spec.target != schema.target:
        raise DataValidationError(
            f"{spec.source}: the spec's target {spec.target!r} is not the model's target {schema.target!r}",
            hint=f"set target to {schema.target!r}, or leave it empty to predict without scoring",
        )
    check_problem_type(spec, schema)
    csv = resolve_format(spec, path) == "csv"
    block = None
    for _ in range(4):  # a line longer than the block: read again with a block 8 times larger (as ingest does)
        source = CsvSource(path, spec, block) if csv else ParquetSource(path, spec)
        try:
            drift = (drift_threshold, drift_min_rows, drift_alpha)
            return _check(source, spec, schema, reference, options, destination, drift)
        except LineTooLong:
            block = source.block_size * 8
        except DataValidationError as exc:
            raise _for_batch(exc) from None
    raise DataValidationError(f"{spec.source}: a line is longer than {block // 8 >> 20} MiB; is the delimiter right?")


def check_problem_type(spec: DatasetSpec, schema: ModelSchema) -> None:
    """Refuse a spec whose problem type contradicts the model's: a regression spec for a classifier, or true targets
    (a spec naming one) declared as the other kind. A spec without a target says nothing of its rows' problem."""
    if spec.problem_type != schema.problem_type and (spec.target or spec.problem_type == "regression"):
        raise DataValidationError(
            f"{spec.source}: the spec's problem_type is {spec.problem_type!r}, but the model is a {schema.problem_type} model "
            f"of {schema.target!r}",
            hint=f"set problem_type to {schema.problem_type!r}, or leave the target empty to predict without scoring",
        )


def check_rows_for_model(
    path: Path, spec: DatasetSpec, model: Path, options: BatchOptions, destination: Path, drift_threshold: float,
    drift_min_rows: int, drift_alpha: float,
) -> tuple[CheckSummary, DriftSummary, str]:
    """``check_rows`` against the schema and drift reference of the local model directory ``model`` (verified
    against its manifest; a model without reference.json is refused with a hint to refit)."""
    schema, reference = read_model_files(model)
    return check_rows(path, spec, schema, reference, options, destination, drift_threshold, drift_min_rows, drift_alpha)


#: The readers' advice for text in a numeric column suits training, not a model whose feature roles are fixed.
_TRAINING_HINT = "; list it in categorical_columns"


def _for_batch(exc: DataValidationError) -> DataValidationError:
    at = exc.message.rfind(_TRAINING_HINT)
    if at < 0:
        return exc
    return DataValidationError(
        exc.message[:at] + "; the model was trained on numbers in this column",
        hint="fix the value, or add it to the dataset's extra_missing_values if it means missing",
    )


def _roles(names: list[str], spec: DatasetSpec, schema: ModelSchema, options: BatchOptions) -> Roles:
    where = spec.source
    present = set(names)  # sets throughout: a list lookup per column is quadratic in a wide table
    absent = [c for c in schema.features if c not in present]
    if absent:
        raise DataValidationError(f"{where}: lacks feature column(s) {shorten_names(absent)} that the model was trained on; columns are {shorten_names(names)}")
    if spec.target and spec.target not in names:
        raise DataValidationError(f"{where}: target column {spec.target!r} not found; columns are {shorten_names(names)}",
                                  hint="leave the dataset's target empty to predict rows without labels")  # fmt: skip
    absent = [c for c in options.passthrough_columns if c not in present]
    if absent:
        raise DataValidationError(f"{where}: passthrough column(s) {shorten_names(absent)} not found; columns are {shorten_names(names)}")
    if spec.target in options.passthrough_columns:
        raise DataValidationError(f"{where}: the target {spec.target!r} is kept already; do not pass it through")
    # Passthrough columns are read as text (IDs keep leading zeros), unless they are features and so typed as one.
    features = set(schema.features)
    text = [*schema.categories, *(c for c in options.passthrough_columns if c not in features)]
    wanted = set(schema.features) | set(options.passthrough_columns) | ({spec.target} if spec.target else set())
    return Roles(target=spec.target, features=list(schema.features), categorical=text, columns=[c for c in names if c in wanted],
                 numeric_target=schema.regression)  # fmt: skip


def _check_spec_agrees(spec: DatasetSpec, schema: ModelSchema) -> None:
    """The model's schema decides the features. A spec may repeat the training spec's feature lists (reusing it is
    natural), but lists that contradict the model are refused: scoring anyway would ignore what the user asked for."""
    where, hint = spec.source, "leave feature_columns, categorical_columns and drop_columns empty: the model decides"
    if spec.feature_columns and set(spec.feature_columns) != set(schema.features):
        raise DataValidationError(f"{where}: feature_columns {spec.feature_columns} differ from the model's features "
                                  f"{schema.features}", hint=hint)  # fmt: skip
    if spec.categorical_columns and set(spec.categorical_columns) != set(schema.categories):
        raise DataValidationError(f"{where}: categorical_columns {spec.categorical_columns} differ from the model's "
                                  f"categorical features {sorted(schema.categories)}", hint=hint)  # fmt: skip
    dropped = [c for c in spec.drop_columns if c in schema.features]
    if dropped:
        raise DataValidationError(f"{where}: drop_columns {dropped} are features the model needs", hint=hint)


def _check(source, spec, schema, reference, options, destination, drift_rule) -> tuple[CheckSummary, DriftSummary, str]:
    roles = _roles(source.names, spec, schema, options)
    read = set(roles.columns)
    extra = [c for c in source.names if c not in read]
    _check_spec_agrees(spec, schema)
    order = [*options.passthrough_columns, *(c for c in schema.features if c not in options.passthrough_columns)]
    order += [spec.target] if spec.target else []
    read_schema = source.output_schema(roles)
    out_schema = pa.schema([read_schema.field(c) for c in order])
    summary = CheckSummary(has_target=bool(spec.target), extra_columns=extra)
    summary.unseen_categories = {c: 0 for c in schema.categories}
    summary.missing = {c: 0 for c in schema.features}
    seen_examples: dict[str, set] = {c: set() for c in schema.categories}
    counts = np.zeros(len(schema.labels), dtype=np.int64)
    code_of = {t: i for i, t in enumerate(schema.label_texts)}
    counter = DriftCounter(reference)
    with TableWriter(destination, out_schema) as writer:
        for batch, first in prefetch(source.batches(roles)):
            _check_numbers(batch, schema, source, first)
            for c in schema.features:
                values = batch.column(c)
                missing = values.null_count
                if pa.types.is_floating(values.type):
                    missing += int(pc.sum(pc.is_nan(values)).as_py() or 0)
                summary.missing[c] += missing
            for c, known in schema.categories.items():
                values = batch.column(c)
                unseen = pc.and_(pc.invert(pc.is_in(values, value_set=pa.array(known, pa.string()))), pc.is_valid(values))
                n = int(pc.sum(unseen).as_py() or 0)
                if n:
                    summary.unseen_categories[c] += n
                    if len(seen_examples[c]) < UNSEEN_EXAMPLES:
                        for v in pc.unique(values.filter(unseen)).to_pylist()[: UNSEEN_EXAMPLES - len(seen_examples[c])]:
                            seen_examples[c].add(v)
            if spec.target and schema.regression:
                target_values(batch.column(spec.target), f"{source.name}: target column {spec.target!r}", source.where, first)
            elif spec.target:
                counts += np.bincount(_label_codes(batch.column(spec.target), schema, code_of, source, first), minlength=len(counts))
            counter.add(batch)
            writer.write(pa.RecordBatch.from_arrays([batch.column(c) for c in order], schema=out_schema))
        if writer.rows == 0:
            raise DataValidationError(f"{spec.source}: has no data rows")
        summary.rows = writer.rows
        content = writer.commit()
    summary.unseen_examples = {c: sorted(map(str, v)) for c, v in seen_examples.items() if v}
    if spec.target and not schema.regression:
        summary.class_counts = {t: int(n) for t, n in zip(schema.label_texts, counts)}
    drift = summarize(reference, counter, *drift_rule)
    log.info("checked %s: %d rows, extra columns %s, unseen categories %s, drift flagged %s",
             spec.source, summary.rows, extra, summary.unseen_categories, drift.flagged)  # fmt: skip
    return summary, drift, content


def _check_numbers(batch: pa.RecordBatch, schema: ModelSchema, source, first: int) -> None:
    """Refuse an infinite value in a numeric feature, naming the column and line (training refuses them too)."""
    for c in schema.features:
        if c in schema.categories:
            continue
        x = batch.column(c).to_numpy(zero_copy_only=False)
        bad = np.flatnonzero(np.isinf(x))
        if bad.size:
            raise DataValidationError(f"{source.name}: column {c!r} holds infinite value {x[bad[0]]!r} at {source.where(first + int(bad[0]))}")


def _label_codes(target: pa.Array, schema: ModelSchema, code_of: dict[str, int], source, first: int) -> np.ndarray:
    """Each row's class code; a missing label or one the model does not know is refused, naming the line."""
    blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(target), ""), False) if pa.types.is_string(target.type) else None
    missing = pc.is_null(target, nan_is_null=True) if pa.types.is_floating(target.type) else pc.is_null(target)
    if blank is not None:
        missing = pc.or_(missing, blank)
    if pc.any(missing).as_py():
        at = int(np.flatnonzero(missing.to_numpy(zero_copy_only=False))[0])
        raise DataValidationError(f"{source.name}: target column {schema.target!r} has a missing label at {source.where(first + at)}",
                                  hint="leave the dataset's target empty to predict rows without labels")  # fmt: skip
    encoded = target.dictionary_encode()
    lookup = []
    for raw in encoded.dictionary.to_pylist():
        try:
            text = lbl.text(raw, schema.label_kind)
        except DataValidationError:
            text = None
        if text not in code_of:
            at = pc.index(target, raw).as_py()
            raise DataValidationError(
                f"{source.name}: target column {schema.target!r} holds label {shorten(str(raw))!r} at "
                f"{source.where(first + at)}, which the model does not know; its labels are {schema.label_texts}"
            )
        lookup.append(code_of[text])
    return np.asarray(lookup, dtype=np.int64)[encoded.indices.to_numpy(zero_copy_only=False)]
