"""The golden set: JSON lines, one item each.

    {"id": "refund-1", "messages": [{"role": "user", "content": "..."}], "expected": "30 days",
     "assertions": [{"type": "regex", "value": "\\\\b30\\\\b"}], "max_tokens": 256}

`messages` use the OpenAI chat shape (system/user/assistant; content a string or text parts). `expected`
feeds the spec's scorers; `assertions` are extra scorers for this item alone (the spec's Scorer shape).
An item needs at least one check that applies to it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from provider_migration.api.spec import Scorer
from provider_migration.evaluation.scorers import needs_value, validate_scorer

MAX_ITEMS = 100_000


class DatasetError(ValueError):
    """The dataset cannot be used; the message names the line."""


class Message(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[dict[str, Any]]

    @field_validator("content")
    @classmethod
    def _text_parts_only(cls, value: str | list[dict[str, Any]]) -> str | list[dict[str, Any]]:
        if isinstance(value, list) and not all(
            p.get("type") == "text" and isinstance(p.get("text"), str) for p in value
        ):
            raise ValueError('content parts must be text parts: {"type": "text", "text": "..."}')
        return value

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part["text"] for part in self.content)


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: Annotated[str, Field(min_length=1, max_length=253)]
    messages: Annotated[tuple[Message, ...], Field(min_length=1)]
    expected: str | None = None
    assertions: tuple[Scorer, ...] = ()
    max_tokens: Annotated[int, Field(ge=1, le=1_000_000)] | None = Field(default=None, alias="maxTokens")
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None


@dataclass(frozen=True)
class Check:
    """One scorer applied to one item, with the value it compares against."""

    scorer: Scorer
    value: str | None


def checks_for(item: Item, scorers: Sequence[Scorer]) -> list[Check]:
    """The spec's scorers (value: the scorer's own, else the item's `expected`) plus the item's assertions.

    A spec scorer that needs a value and has none for this item does not apply to it.
    """
    found = []
    for scorer in scorers:
        if not needs_value(scorer):
            found.append(Check(scorer, None))
            continue
        value = scorer.value if scorer.value is not None else item.expected
        if value is not None:
            found.append(Check(scorer, value))
    found += [Check(a, a.value) for a in item.assertions]
    return found


def parse_dataset(text: str, scorers: Sequence[Scorer] = ()) -> list[Item]:
    """Items in file order; blank lines and `//` comments are skipped. Raises DatasetError."""
    for scorer in scorers:
        try:
            validate_scorer(scorer, scorer.value)
        except ValueError as exc:
            raise DatasetError(f"spec scorer {scorer.type}: {exc}") from None
    items: list[Item] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("//"):
            continue
        try:
            raw = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"line {number}: not valid JSON: {exc.msg}") from None
        if not isinstance(raw, dict):
            raise DatasetError(f"line {number}: expected a JSON object")
        raw.setdefault("id", f"line-{number}")
        _stringify_values(raw)
        try:
            item = Item.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'item'}: {e['msg']}" for e in exc.errors())
            raise DatasetError(f"line {number}: {problems}") from None
        if item.id in seen:
            raise DatasetError(f"line {number}: duplicate id {item.id!r}")
        checks = checks_for(item, scorers)
        if not checks:
            raise DatasetError(f"line {number} ({item.id}): no check applies: give `expected` or `assertions`")
        for check in checks:
            try:
                validate_scorer(check.scorer, check.value)
            except ValueError as exc:
                raise DatasetError(f"line {number} ({item.id}): {check.scorer.type}: {exc}") from None
        seen.add(item.id)
        items.append(item)
        if len(items) > MAX_ITEMS:
            raise DatasetError(f"more than {MAX_ITEMS} items")
    if not items:
        raise DatasetError("the dataset has no items")
    return items


def _stringify_values(raw: dict[str, Any]) -> None:
    """Numbers and inline JSON schemas are friendlier to write unquoted; scorers take text."""
    for key in ("id", "expected"):
        if isinstance(raw.get(key), int | float) and not isinstance(raw[key], bool):
            raw[key] = str(raw[key])
    for assertion in raw.get("assertions") or []:
        if isinstance(assertion, dict) and not isinstance(assertion.get("value"), str | None):
            assertion["value"] = json.dumps(assertion["value"])
