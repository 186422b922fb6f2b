"""Strict parameters: a dataclass built from raw JSON refuses unknown keys, wrong types and bad values."""

# Why here and not in a library: every route a value takes into a task must be checked the same way.
# `pyflyte run` builds a dataclass input with the class's own `from_json` when it has one (and otherwise
# with dataclasses-json, which drops unknown keys and lets the text "false" pass for a bool); a pod, or a
# launch from the console or FlyteRemote, decodes the literal with mashumaro, which calls the class's
# `__pre_deserialize__` with the raw dict first. `strict` gives a plain dataclass both hooks, and its
# `__post_init__` checks values built in Python too.

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import reprlib
import types
import typing

from flyte.core.common.errors import DataValidationError


def _describe(tp) -> str:
    origin = typing.get_origin(tp)
    if origin in (list, tuple):
        (inner,) = typing.get_args(tp)[:1] or (object,)
        return f"a list of {_describe(inner)}"
    if origin is dict:
        return "an object"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    return {bool: "true or false", int: "a whole number", float: "a number", str: "text", type(None): "null"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


#: Deepest nesting of JSON arrays and objects accepted in a parameter's text. Every parameter class is flat
#: or nearly so; the bound keeps a hostile input from exhausting the parser's recursion.
MAX_JSON_DEPTH = 32
#: Longest echo of a refused value, in characters.
ECHO_CHARS = 120

_ECHO = reprlib.Repr()
_ECHO.maxlevel, _ECHO.maxstring, _ECHO.maxother = 3, ECHO_CHARS, ECHO_CHARS
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def echo(value) -> str:
    """A short ``repr`` of a refused value: nested containers elided, at most about ECHO_CHARS characters."""
    text = _ECHO.repr(value)
    return text if len(text) <= ECHO_CHARS else text[: ECHO_CHARS - 3] + "..."


def json_depth(text: str) -> int:
    """How deeply ``text``'s JSON arrays and objects nest (brackets inside strings do not count)."""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return 0  # too few brackets to nest past the bound: skip the scan
    depth = deepest = 0
    for token in _JSON_TOKENS.finditer(text):
        bracket = token[0]
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif bracket in "]}":
            depth -= 1
    return deepest


def check_json_arguments(argv: list[str]) -> None:
    """Refuse a command-line argument holding JSON nested past MAX_JSON_DEPTH, naming its option. pyflyte
    parses a dataclass input with json.loads before any class's from_json, and a deep one exhausts recursion."""
    for i, arg in enumerate(argv):
        option, _, value = arg.partition("=") if arg.startswith("--") else ((argv[i - 1] if i else ""), "", arg)
        if value.lstrip().startswith(("{", "[")) and json_depth(value) > MAX_JSON_DEPTH:
            raise DataValidationError(f"{option[:40] or 'an argument'}: JSON nested more than {MAX_JSON_DEPTH} levels deep",
                                      hint="an input is a flat JSON object of values and lists")  # fmt: skip


def type_matches(value, tp) -> bool:
    """Whether a raw JSON value is of the field type ``tp``: no coercion (the text "false" is not a bool)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return any(type_matches(value, a) for a in typing.get_args(tp))
    if origin is list:
        (inner,) = typing.get_args(tp) or (object,)
        return isinstance(value, list) and all(type_matches(v, inner) for v in value)
    if origin is dict:
        key_type, value_type = typing.get_args(tp) or (str, object)
        return isinstance(value, dict) and all(type_matches(k, key_type) and type_matches(v, value_type) for k, v in value.items())
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is type(None):
        return value is None
    if tp in (str, object):
        return tp is object or isinstance(value, str)
    return True  # nested types check themselves


def check_raw(cls, raw) -> None:
    """Refuse a raw dict for ``cls`` with unknown keys (suggesting the closest valid one) or wrongly typed values."""
    name = cls.__name__
    if not isinstance(raw, dict):
        raise DataValidationError(f"{name}: expected a JSON object, got {echo(raw)}")
    hints = typing.get_type_hints(cls)
    valid = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in raw if k not in valid]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(key, valid, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise DataValidationError(f"{name}: unknown key {key!r}{hint} Valid keys: {', '.join(valid)}")
    for key, value in raw.items():
        if not type_matches(value, hints[key]):
            raise DataValidationError(f"{name}.{key} must be {_describe(hints[key])}, got {echo(value)}")


def check_types(obj) -> None:
    """The same type check on a dataclass built in Python (``DatasetSpec(has_header="false")``)."""
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            continue
        if not type_matches(value, hints[f.name]):
            raise DataValidationError(f"{type(obj).__name__}.{f.name} must be {_describe(hints[f.name])}, got {echo(value)}")


def strict(cls):
    """Give a plain dataclass strict construction from JSON (the CLI's route and mashumaro's).

    The class's own ``__post_init__`` should call ``check_types(self)`` and check its values: dataclass
    only wires a ``__post_init__`` that exists when it builds ``__init__``, so it cannot be added here.
    """

    @classmethod
    def from_json(klass, text: str, **_kwargs):
        if json_depth(text) > MAX_JSON_DEPTH:
            raise DataValidationError(f"{klass.__name__}: JSON nested more than {MAX_JSON_DEPTH} levels deep; "
                                      f"a parameter is a flat object of values and lists")  # fmt: skip
        try:
            raw = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise DataValidationError(f"{klass.__name__}: not valid JSON: {str(exc)[:ECHO_CHARS]}") from None
        check_raw(klass, raw)
        return klass(**raw)

    @classmethod
    def __pre_deserialize__(klass, raw):
        check_raw(klass, raw)
        return raw

    cls.from_json = from_json
    cls.__pre_deserialize__ = __pre_deserialize__
    return cls


def require(condition: bool, message: str) -> None:
    """Raise a DataValidationError with ``message`` unless ``condition`` holds."""
    if not condition:
        raise DataValidationError(message)
