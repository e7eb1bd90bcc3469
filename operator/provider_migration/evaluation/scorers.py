"""Scorers: does one answer meet one expectation?

- exact: equal after trimming surrounding whitespace (case-sensitive).
- contains: the expected text occurs in the answer, ignoring case.
- regex: `re.search` of the pattern in the answer.
- jsonSchema: the answer (or the first fenced code block in it) is JSON valid against the schema.
- numeric: the first number in the answer is within `tolerance` (absolute, default 0) of the expected number.
- length: the answer has between `min` and `max` characters.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from provider_migration.api.spec import Scorer

# Thousands separators only in groups of three, so "1,2,3" reads as 1, not 123.
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?")
_FENCE = re.compile(r"```(?:json)?\s*\n?(.*?)```", re.DOTALL)
_VALUE_NEEDED = frozenset({"exact", "contains", "regex", "jsonSchema", "numeric"})


@dataclass(frozen=True)
class Score:
    passed: bool
    detail: str = ""


def needs_value(scorer: Scorer) -> bool:
    return scorer.type in _VALUE_NEEDED


def validate_scorer(scorer: Scorer, value: str | None) -> None:
    """Raise ValueError when the scorer cannot work with this value (bad pattern, schema or number)."""
    if scorer.type == "length":
        if scorer.min is None and scorer.max is None:
            raise ValueError("length needs min and/or max")
        if scorer.min is not None and scorer.max is not None and scorer.min > scorer.max:
            raise ValueError("length: min is above max")
        return
    if value is None:
        return  # checked per item: the item's `expected` may supply it
    if scorer.type == "regex":
        _regex(value)
    elif scorer.type == "jsonSchema":
        _validator(value)
    elif scorer.type == "numeric" and _first_number(value) is None:
        raise ValueError(f"expected value {value[:40]!r} is not a number")


def score(scorer: Scorer, answer: str, value: str | None) -> Score:
    kind = scorer.type
    if kind == "length":
        n = len(answer)
        low, high = scorer.min, scorer.max
        ok = (low is None or n >= low) and (high is None or n <= high)
        return Score(ok, "" if ok else f"{n} characters, wanted {low or 0}..{high if high is not None else '∞'}")
    if value is None:
        return Score(False, f"{kind}: no expected value")
    if kind == "exact":
        ok = answer.strip() == value.strip()
        return Score(ok, "" if ok else "answer differs from expected")
    if kind == "contains":
        ok = value.casefold() in answer.casefold()
        return Score(ok, "" if ok else f"answer does not contain {_short(value)}")
    if kind == "regex":
        ok = _regex(value).search(answer) is not None
        return Score(ok, "" if ok else f"no match for /{_short(value)}/")
    if kind == "jsonSchema":
        return _score_json(answer, value)
    if kind == "numeric":
        return _score_numeric(answer, value, scorer.tolerance or 0.0)
    raise ValueError(f"unknown scorer type {kind!r}")


def _score_json(answer: str, schema: str) -> Score:
    try:
        document = json.loads(answer)
    except json.JSONDecodeError as exc:
        fenced = _FENCE.search(answer)  # models often wrap JSON in a ```json block
        if fenced is None:
            return Score(False, f"answer is not JSON: {exc.msg}")
        try:
            document = json.loads(fenced.group(1))
        except json.JSONDecodeError as inner:
            return Score(False, f"code block is not JSON: {inner.msg}")
    error = next(iter(_validator(schema).iter_errors(document)), None)
    if error is None:
        return Score(True)
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return Score(False, f"schema violation at {where}: {_short(error.message, 120)}")


def _score_numeric(answer: str, expected: str, tolerance: float) -> Score:
    want, got = _first_number(expected), _first_number(answer)
    if want is None:
        return Score(False, f"expected value {_short(expected)} is not a number")
    if got is None:
        return Score(False, "no number in the answer")
    ok = abs(got - want) <= tolerance
    return Score(ok, "" if ok else f"{got:g} is not within {tolerance:g} of {want:g}")


def _first_number(text: str) -> float | None:
    for match in _NUMBER.finditer(text):
        try:
            return float(match.group(0).replace(",", ""))
        except ValueError:
            continue
    return None


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression: {exc}") from None


@lru_cache(maxsize=64)
def _validator(schema_text: str) -> Any:
    try:
        import jsonschema  # imported on first use: only jsonSchema scorers need it
    except ImportError:  # a clear verdict-Error message instead of a crashed reconcile
        raise ValueError("the jsonSchema scorer needs the jsonschema package installed") from None

    try:
        schema = json.loads(schema_text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"schema is not JSON: {exc.msg}") from None
    cls = jsonschema.validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ValueError(f"invalid JSON schema: {_short(exc.message, 120)}") from None
    return cls(schema)


def _short(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
