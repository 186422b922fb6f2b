"""The data profile, accumulated batch by batch, and the checks on the classes it finds."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flyte.core.data import labels as lbl
from flyte.core.data.dataset import DataProfile, DatasetSpec
from flyte.core.common.errors import DataValidationError, shorten
from flyte.core.data.formats.csv_reader import Roles
from flyte.core.data.split import SplitParams, unsplittable
from flyte.core.data.target import REGRESSION, TargetAccumulator


#: The most classes a target may have. Multiclass boosting grows a tree per class every round and holds a
#: prediction, gradient and hessian per row and class: 5,000 classes x 100k rows took 3.9 GB, past the fit
#: pod's 2 GiB. At this bound the default presets fit about 100k rows (fit_memory.CLASS_ROW_BYTES).
MAX_CLASSES = 1000


class ProfileBuilder:
    """Accumulates the profile batch by batch: counts only, so its memory does not grow with the rows.

    ``where`` maps a data-row index to its place in the file (``line 12``), for messages.
    """

    def __init__(self, spec: DatasetSpec, roles: Roles, count_nan: bool, where):
        self.spec, self.roles, self.count_nan, self.where = spec, roles, count_nan, where
        self.rows = 0
        self.missing: dict[str, int] = {}
        self.raw_counts: dict = {}
        self.first_row: dict = {}  # each raw label's first data-row index, to name where a stray class is
        self.numbers = TargetAccumulator()  # a regression target's distribution
        self.schema: pa.Schema | None = None
        self.expected_kind = lbl.infer_kind(spec.expected_labels) if spec.expected_labels else None
        self.expected = {lbl.text(v, self.expected_kind) for v in spec.expected_labels} if spec.expected_labels else None

    def add(self, batch: pa.RecordBatch, first: int) -> None:
        """Count a batch whose first row is data row ``first``; refuse a label outside expected_labels."""
        self.schema = batch.schema
        self.rows += batch.num_rows
        floating, names = [], batch.schema.names
        for i, column in enumerate(names):
            values = batch.column(i)
            self.missing[column] = self.missing.get(column, 0) + values.null_count
            if self.count_nan and pa.types.is_floating(values.type):
                floating.append(i)
        # NaNs counted with numpy over many columns at once: a compute call per column costs ~70 us, which is
        # minutes at 50k columns. Nulls read as NaN there, so they are subtracted (counted above already).
        for start in range(0, len(floating), 4096):
            chunk = floating[start : start + 4096]
            nans = np.isnan(np.column_stack([batch.column(i).to_numpy(zero_copy_only=False) for i in chunk])).sum(axis=0)
            for i, n in zip(chunk, nans):
                self.missing[names[i]] += int(n) - batch.column(i).null_count
        target = batch.column(self.roles.target)
        if self.roles.numeric_target:  # ingest has refused missing and infinite values already
            self.numbers.add(target.to_numpy(zero_copy_only=False))
            return
        for item in pc.value_counts(target).to_pylist():
            raw = item["values"]
            if raw not in self.first_row:
                self.first_row[raw] = first + pc.index(target, raw).as_py()
                self._check_expected(raw)
            self.raw_counts[raw] = self.raw_counts.get(raw, 0) + item["counts"]

    def _check_expected(self, raw) -> None:
        if self.expected is None:
            return
        try:
            text = lbl.text(raw, self.expected_kind)
        except DataValidationError:
            text = str(raw)
        if text not in self.expected:
            raise DataValidationError(
                f"{self.spec.source}: target column {self.roles.target!r} holds label {str(raw)!r} at "
                f"{self.where(self.first_row[raw])}, which is not one of expected_labels {self.spec.expected_labels}"
            )

    def finish(self, split: SplitParams | None = None) -> DataProfile:
        """The profile; refuses no rows, one class, a class below min_rows_per_class, or data ``split`` cannot split."""
        name, target = self.spec.source, self.roles.target
        if self.rows == 0:
            raise DataValidationError(f"{name}: has no data rows")
        self._check_key(split)
        if self.roles.numeric_target:
            return self._regression_profile(split)
        raws = list(self.raw_counts)
        try:
            kind = self.expected_kind or lbl.infer_kind(raws)
        except DataValidationError as exc:
            raise DataValidationError(f"{name}: target column {target!r}: {exc}") from None
        counts: dict[str, int] = {}
        typed: dict[str, object] = {}
        first: dict[str, int] = {}
        for raw in raws:
            text = lbl.text(raw, kind)
            counts[text] = counts.get(text, 0) + self.raw_counts[raw]
            typed[text] = lbl.typed(raw, kind)
            first[text] = min(first.get(text, self.rows), self.first_row[raw])
        if len(counts) < 2:
            raise DataValidationError(
                f"{name}: target column {target!r} has a single class {next(iter(counts))!r}; a classifier needs two or more"
            )
        if len(counts) > MAX_CLASSES:
            raise DataValidationError(
                f"{name}: target column {target!r} has {len(counts)} classes, more than the {MAX_CLASSES} a fit can take "
                "(its memory grows with rows x classes); is the target a class, or an ID? a number to predict needs \"problem_type\": \"regression\" in the dataset spec"
            )
        small = sorted((t for t in counts if counts[t] < self.spec.min_rows_per_class), key=lambda t: counts[t])
        if small:
            t = small[0]
            raise DataValidationError(
                f"{name}: class {t!r} of target column {target!r} has {counts[t]} row(s), first at {self.where(first[t])}; "
                f"every class needs at least min_rows_per_class={self.spec.min_rows_per_class} (a stray label? "
                "declare expected_labels to refuse strays by line)"
            )
        order = self._order(counts, typed)
        if split is not None:
            short = unsplittable(np.array([counts[t] for t in order]), split)
            if short:
                t = order[short[0]]
                raise DataValidationError(
                    f"{name}: class {t!r} has {counts[t]} row(s), too few for test_ratio={split.test_ratio} and "
                    f"validation_ratio={split.validation_ratio}: every class needs a row in train, validation and test"
                )
        return self._profile(class_counts={t: counts[t] for t in order}, labels=order, label_kind=kind)

    def _check_key(self, split: SplitParams | None) -> None:
        if split is not None and split.key_column and split.key_column not in self.schema.names:
            raise DataValidationError(
                f"{self.spec.source}: split key_column {split.key_column!r} is not among the columns read (the target and "
                f"the features {shorten(str(list(self.roles.features)))}); a dropped column cannot key the split"
            )

    def _regression_profile(self, split: SplitParams | None) -> DataProfile:
        """A regression target: its distribution instead of classes; refuses a constant target, and too few
        rows for ``split`` to give each part one (expected sizes, as for a class)."""
        found = self.numbers.finish()
        if found.min == found.max:
            raise DataValidationError(
                f"{self.spec.source}: regression target {self.roles.target!r} is {found.min:g} on every row; there is nothing to predict"
            )
        if split is not None and unsplittable(np.array([self.rows]), split):
            raise DataValidationError(
                f"{self.spec.source}: {self.rows} row(s) are too few for test_ratio={split.test_ratio} and "
                f"validation_ratio={split.validation_ratio}: train, validation and test each need rows"
            )
        return self._profile(label_kind=lbl.FLOAT, problem_type=REGRESSION, target_distribution=found)

    def _profile(self, **fields) -> DataProfile:
        allowed = set(self.spec.allow_predictive_columns)
        return DataProfile(
            rows=self.rows,
            columns=len(self.schema),
            target=self.roles.target,
            feature_columns=list(self.roles.features),
            categorical_columns=list(self.roles.categorical),
            dtypes={f.name: str(f.type) for f in self.schema},
            missing={c: int(self.missing.get(c, 0)) for c in self.schema.names},
            allow_predictive_columns=[c for c in self.roles.features if c in allowed],
            **fields,
        )

    def _order(self, counts: dict[str, int], typed: dict[str, object]) -> list[str]:
        """Class-code order: numbers by value, then text; for two classes the positive label goes last."""
        order = sorted(counts, key=lambda t: lbl.sort_key(typed[t]))
        positive = self.spec.positive_label
        if positive:
            if len(order) != 2:
                raise DataValidationError(
                    f"{self.spec.source}: positive_label is for a binary target; {self.roles.target!r} has {len(order)} classes"
                )
            kind_text = lbl.text(positive, self.expected_kind or lbl.infer_kind([typed[order[0]], typed[order[1]]]))
            if kind_text not in order:
                raise DataValidationError(f"{self.spec.source}: positive_label {positive!r} is not one of the labels {order}")
            order = [t for t in order if t != kind_text] + [kind_text]
        return order
