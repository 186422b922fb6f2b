"""Stage 1: read a raw CSV or Parquet table, validate it against a dataset spec, and profile it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from flyte.core.errors import DataValidationError

#: Where the datasets shipped inside the package live; ``bundled://NAME`` points here.
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
BUNDLED_SCHEME = "bundled"

#: Column names of the Pima Indians diabetes data, in file order, from its ``.names`` file
#: (section 7: eight numeric attributes, then the class variable).
PIMA_COLUMNS = (
    "pregnancies",  # number of times pregnant
    "glucose",  # plasma glucose 2 hours into an oral glucose tolerance test (mg/dl)
    "blood_pressure",  # diastolic blood pressure (mm Hg)
    "skin_thickness",  # triceps skin fold thickness (mm)
    "insulin",  # 2-hour serum insulin (mu U/ml)
    "bmi",  # body mass index (kg/m^2)
    "diabetes_pedigree",  # diabetes pedigree function
    "age",  # years
    "class",  # 1 = tested positive for diabetes
)

#: Schemes read straight from this machine's disk; any other scheme is fetched first by the caller.
LOCAL_SCHEMES = ("", "file", BUNDLED_SCHEME)


@dataclass
class DatasetSpec:
    """Where a dataset lives and how to read it.

    source: a local path, ``file://``, ``http(s)://``, ``s3://``, ``gs://`` or ``bundled://NAME``
        (a file shipped in ``flyte/data``).
    file_format: ``csv``, ``parquet``, or ``auto`` to decide by the file name's extension.
    has_header: whether a CSV's first line holds the column names.
    column_names: the names of a header-less CSV's columns, in file order; ignored otherwise.
    target: the column to predict.
    categorical_columns: feature columns holding categories (strings) rather than numbers.
    """

    source: str = f"{BUNDLED_SCHEME}://pima-indians-diabetes.data.csv"
    file_format: str = "auto"
    has_header: bool = False
    column_names: list[str] = field(default_factory=lambda: list(PIMA_COLUMNS))
    target: str = "class"
    categorical_columns: list[str] = field(default_factory=list)


@dataclass
class DataProfile:
    """What ingest found in the data; later stages read the target and feature roles from it.

    rows / columns: the table's shape after validation.
    dtypes: column name to pandas dtype name.
    missing: column name to the count of missing values.
    class_counts: target label (as text) to its number of rows.
    sha256: hex digest of the source file's bytes, to tell two snapshots apart.
    """

    source: str = ""
    sha256: str = ""
    rows: int = 0
    columns: int = 0
    target: str = ""
    feature_columns: list[str] = field(default_factory=list)
    categorical_columns: list[str] = field(default_factory=list)
    dtypes: dict[str, str] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    class_counts: dict[str, int] = field(default_factory=dict)


def is_local(source: str) -> bool:
    """True when the source can be read from this machine's disk without fetching."""
    return urlparse(source).scheme in LOCAL_SCHEMES or _looks_like_windows_path(source)


def _looks_like_windows_path(source: str) -> bool:
    return len(source) > 2 and source[1] == ":" and source[0].isalpha()


def local_path(source: str) -> Path:
    """The file on this machine that a local source names (``bundled://`` resolves to the package)."""
    parsed = urlparse(source)
    if parsed.scheme == BUNDLED_SCHEME:
        return DATA_DIR / (parsed.netloc + parsed.path)
    if parsed.scheme == "file":
        return Path(parsed.path)
    if not is_local(source):
        raise DataValidationError(f"{source}: not a local path; fetch it before reading")
    return Path(source)


def resolve_format(spec: DatasetSpec, path: Path) -> str:
    """``csv`` or ``parquet``: the spec's choice, or the file's extension when the spec says auto."""
    fmt = spec.file_format.lower()
    if fmt == "auto":
        suffixes = [s.lower() for s in Path(path).suffixes]
        fmt = "parquet" if ".parquet" in suffixes or ".pq" in suffixes else "csv"
    if fmt not in ("csv", "parquet"):
        raise DataValidationError(f"{spec.source}: unknown file_format {spec.file_format!r}; use csv, parquet or auto")
    return fmt


def load_dataset(path: Path, spec: DatasetSpec) -> tuple[pd.DataFrame, DataProfile]:
    """Read, validate and profile the file at ``path`` (a local copy of ``spec.source``).

    Raises DataValidationError naming the source, column, line or value for any unusable input.
    The file is only read, never changed.
    """
    path = Path(path)
    name = spec.source
    if not path.is_file():
        raise DataValidationError(f"{name}: file not found ({path})")
    if path.stat().st_size == 0:
        raise DataValidationError(f"{name}: file is empty")
    fmt = resolve_format(spec, path)
    table = _read_parquet(path, name) if fmt == "parquet" else _read_csv(path, spec)
    df = validate_table(table, spec)
    return df, profile_table(df, spec, sha256=file_sha256(path))


def _read_csv(path: Path, spec: DatasetSpec) -> pd.DataFrame:
    name = spec.source
    names = None if spec.has_header else list(spec.column_names)
    if names is not None and not names:
        raise DataValidationError(f"{name}: has_header is false, so column_names must list the columns")
    if names is not None:
        _check_unique(names, f"{name}: column_names")
    bad_rows = []

    def on_bad_row(row) -> str:
        bad_rows.append(row)
        return "skip"

    # Categorical columns and a text target stay strings whatever they look like; the rest is inferred
    # and checked for numbers below, so that a stray word is reported rather than silently parsed.
    string_columns = {c: pa.string() for c in spec.categorical_columns}
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_bad_row),
            convert_options=pacsv.ConvertOptions(column_types=string_columns, strings_can_be_null=True),
        )
    except pa.ArrowInvalid as exc:
        raise DataValidationError(f"{name}: cannot parse as CSV: {exc}") from exc
    if bad_rows:
        row = bad_rows[0]
        line = row.number if row.number > 0 else "?"
        raise DataValidationError(
            f"{name}: line {line} has {row.actual_columns} fields, expected {row.expected_columns}: {row.text!r}"
            + (f" (and {len(bad_rows) - 1} more such lines)" if len(bad_rows) > 1 else "")
        )
    if spec.has_header:
        _check_unique(table.column_names, f"{name}: header")
    return table.to_pandas()


def _read_parquet(path: Path, name: str) -> pd.DataFrame:
    try:
        return pq.read_table(path).to_pandas()
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataValidationError(f"{name}: cannot read as Parquet: {exc}") from exc


def _check_unique(names: list[str], what: str) -> None:
    seen, dupes = set(), []
    for n in names:
        if n in seen:
            dupes.append(n)
        seen.add(n)
    if dupes:
        raise DataValidationError(f"{what} repeats column name(s) {sorted(set(dupes))}")


def validate_table(df: pd.DataFrame, spec: DatasetSpec) -> pd.DataFrame:
    """Check a freshly read table against the spec and return it with clean dtypes.

    Numeric features become float or int columns; categorical features become text columns;
    the target keeps its own type. Infinite numbers, missing labels and single-class targets are refused.
    """
    name = spec.source
    first_line = 2 if spec.has_header else 1  # file line of the table's first row, for messages
    if len(df) == 0:
        raise DataValidationError(f"{name}: has no data rows")
    columns = list(df.columns)
    if spec.target not in columns:
        raise DataValidationError(f"{name}: target column {spec.target!r} not found; columns are {columns}")
    missing_cats = [c for c in spec.categorical_columns if c not in columns]
    if missing_cats:
        raise DataValidationError(f"{name}: categorical column(s) {missing_cats} not found; columns are {columns}")
    if spec.target in spec.categorical_columns:
        raise DataValidationError(f"{name}: target {spec.target!r} cannot also be a categorical feature")
    features = [c for c in columns if c != spec.target]
    if not features:
        raise DataValidationError(f"{name}: no feature columns besides the target {spec.target!r}")

    out = pd.DataFrame(index=pd.RangeIndex(len(df)))
    for col in columns:
        values = df[col]
        if col == spec.target:
            out[col] = _clean_target(values, name, first_line)
        elif col in spec.categorical_columns:
            out[col] = _as_text(values)
        else:
            out[col] = _as_number(values, col, name, first_line)
    return out


def _as_text(values: pd.Series) -> pd.Series:
    """Categories as text, missing ones as missing (XGBoost routes those natively)."""
    return pd.Series([None if pd.isna(v) else str(v) for v in values], index=values.index, dtype="str")


def _as_number(values: pd.Series, col: str, name: str, first_line: int) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        values = values.astype(float)
    if not pd.api.types.is_numeric_dtype(values):
        numbers = pd.to_numeric(values, errors="coerce")
        bad = numbers.isna() & values.notna()
        if bad.any():
            pos = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataValidationError(
                f"{name}: column {col!r} holds non-numeric value {_plain(values.iloc[pos])!r} at line {pos + first_line}; "
                f"list it in categorical_columns if it is a category"
            )
        values = numbers
    floats = values.astype(float)
    inf = np.isinf(floats.to_numpy())
    if inf.any():
        pos = int(np.flatnonzero(inf)[0])
        raise DataValidationError(
            f"{name}: column {col!r} holds infinite value {_plain(values.iloc[pos])!r} at line {pos + first_line}"
        )
    return values


def _clean_target(values: pd.Series, name: str, first_line: int) -> pd.Series:
    missing = values.isna()
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        missing |= values.astype(str).str.strip().eq("")
    if missing.any():
        lines = [int(i) + first_line for i in np.flatnonzero(missing.to_numpy())[:5]]
        raise DataValidationError(
            f"{name}: target column {values.name!r} has {int(missing.sum())} missing label(s), first at line(s) {lines}"
        )
    if pd.api.types.is_float_dtype(values):
        if np.isinf(values.to_numpy()).any():
            raise DataValidationError(f"{name}: target column {values.name!r} holds an infinite label")
        if (values == values.round()).all():
            values = values.astype("int64")  # 0.0/1.0 labels read back as the integers they are
    if pd.api.types.is_string_dtype(values) and not pd.api.types.is_object_dtype(values):
        values = values.astype(object)
    classes = values.unique()
    if len(classes) < 2:
        raise DataValidationError(
            f"{name}: target column {values.name!r} has a single class {_plain(classes[0])!r}; a classifier needs two or more"
        )
    return values


def _plain(value):
    """numpy scalars as the Python values they hold, for readable messages."""
    return value.item() if isinstance(value, np.generic) else value


def profile_table(df: pd.DataFrame, spec: DatasetSpec, sha256: str) -> DataProfile:
    """Summarise a validated table: shape, dtypes, missing counts and class balance."""
    counts = df[spec.target].value_counts(sort=False)
    return DataProfile(
        source=spec.source,
        sha256=sha256,
        rows=len(df),
        columns=df.shape[1],
        target=spec.target,
        feature_columns=[c for c in df.columns if c != spec.target],
        categorical_columns=list(spec.categorical_columns),
        dtypes={c: str(t) for c, t in df.dtypes.items()},
        missing={c: int(n) for c, n in df.isna().sum().items()},
        class_counts={str(k): int(v) for k, v in sorted(counts.items(), key=lambda kv: str(kv[0]))},
    )


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
