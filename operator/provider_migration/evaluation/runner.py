"""Run the golden set through source and target, with bounded concurrency and a request budget."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from provider_migration.api.spec import Pricing, Scorer
from provider_migration.api.status import ProviderSummary
from provider_migration.evaluation.dataset import Item, checks_for
from provider_migration.evaluation.providers import ProviderClient, ProviderError
from provider_migration.evaluation.scorers import score

Side = Literal["source", "target"]
ANSWER_LIMIT = 500  # characters of each answer kept for the per-item table


@dataclass(frozen=True)
class Attempt:
    """One item on one side."""

    item_id: str
    side: Side
    passed: bool
    latency_s: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    error: str | None = None  # the call failed (the item then counts as failed)
    failed_checks: tuple[str, ...] = ()
    answer: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class SideResult:
    side: Side
    attempts: tuple[Attempt, ...]
    pricing: Pricing | None

    @property
    def items(self) -> int:
        return len(self.attempts)

    @property
    def errors(self) -> int:
        return sum(not a.ok for a in self.attempts)

    @property
    def pass_rate(self) -> float | None:
        return sum(a.passed for a in self.attempts) / self.items if self.attempts else None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.items if self.attempts else None

    def latency(self, q: float) -> float | None:
        """Over answered requests only: a fast failure says nothing about the provider's speed."""
        return percentile([a.latency_s for a in self.attempts if a.ok and a.latency_s is not None], q)

    @property
    def cost(self) -> float | None:
        return sum(a.cost or 0.0 for a in self.attempts) if self.pricing is not None else None

    def summary(self) -> ProviderSummary:
        return ProviderSummary(
            pass_rate=self.pass_rate,
            latency_p50=self.latency(0.50),
            latency_p95=self.latency(0.95),
            input_tokens=sum(a.input_tokens for a in self.attempts),
            output_tokens=sum(a.output_tokens for a in self.attempts),
            cost=self.cost,
            errors=self.errors,
            items=self.items,
        )


@dataclass(frozen=True)
class EvaluationRun:
    source: SideResult
    target: SideResult
    items_total: int  # in the dataset
    items_run: int  # within the request budget
    notes: tuple[str, ...] = field(default_factory=tuple)

    def paired_costs(self) -> tuple[float, float, int] | None:
        """(target's actual cost, forecast, items) over the items both sides answered.

        The forecast is what the target would have cost with the source's token counts on the same items:
        the yardstick for "the target spends more tokens than expected" (verbosity, tokenizer).
        """
        tgt_pricing = self.target.pricing
        if tgt_pricing is None:
            return None
        actual = forecast = 0.0
        paired = 0
        for src, tgt in zip(self.source.attempts, self.target.attempts, strict=True):
            if src.ok and tgt.ok:
                paired += 1
                actual += tgt.cost or 0.0
                forecast += tgt_pricing.cost(src.input_tokens, src.output_tokens)
        return (actual, forecast, paired) if paired else None

    def rows(self) -> list[dict[str, object]]:
        """The per-item table, one row per item and side."""
        out: list[dict[str, object]] = []
        for src, tgt in zip(self.source.attempts, self.target.attempts, strict=True):
            for a in (src, tgt):
                out.append({
                    "id": a.item_id, "side": a.side, "passed": a.passed, "latency_s": a.latency_s,
                    "input_tokens": a.input_tokens, "output_tokens": a.output_tokens, "cost": a.cost,
                    "error": a.error, "failed_checks": list(a.failed_checks), "answer": a.answer,
                })  # fmt: skip
        return out


async def _attempt(
    item: Item,
    side: Side,
    client: ProviderClient,
    scorers: Sequence[Scorer],
    pricing: Pricing | None,
    gate: asyncio.Semaphore,
) -> Attempt:
    async with gate:
        try:
            done = await client.complete(item.messages, max_tokens=item.max_tokens, temperature=item.temperature)
        except ProviderError as exc:
            return Attempt(item.id, side, passed=False, error=str(exc))
        except Exception as exc:  # a bug or an odd response must cost one item, never the whole run
            return Attempt(item.id, side, passed=False, error=f"{type(exc).__name__}")
    failed = []
    for check in checks_for(item, scorers):
        result = score(check.scorer, done.text, check.value)
        if not result.passed:
            failed.append(f"{check.scorer.type}: {result.detail}")
    return Attempt(
        item.id, side, passed=not failed, latency_s=done.latency_s, input_tokens=done.input_tokens,
        output_tokens=done.output_tokens,
        cost=pricing.cost(done.input_tokens, done.output_tokens) if pricing is not None else None,
        failed_checks=tuple(failed), answer=done.text[:ANSWER_LIMIT],
    )  # fmt: skip


async def run_evaluation(
    items: Sequence[Item],
    scorers: Sequence[Scorer],
    source: ProviderClient,
    target: ProviderClient,
    *,
    concurrency: int = 4,
    max_requests: int = 200,
    source_pricing: Pricing | None = None,
    target_pricing: Pricing | None = None,
) -> EvaluationRun:
    """Every item through both sides (so results pair up), in dataset order until the budget is spent.

    `concurrency` bounds in-flight requests per provider; `max_requests` counts both sides' requests.
    """
    if concurrency < 1 or max_requests < 2:
        raise ValueError("concurrency must be >= 1 and max_requests >= 2 (one item costs two requests)")
    chosen = list(items[: max_requests // 2])
    gates = {"source": asyncio.Semaphore(concurrency), "target": asyncio.Semaphore(concurrency)}
    src_tasks = [_attempt(i, "source", source, scorers, source_pricing, gates["source"]) for i in chosen]
    tgt_tasks = [_attempt(i, "target", target, scorers, target_pricing, gates["target"]) for i in chosen]
    results = await asyncio.gather(*src_tasks, *tgt_tasks)
    notes: tuple[str, ...] = ()
    if len(chosen) < len(items):
        notes = (f"request budget {max_requests} covered {len(chosen)} of {len(items)} items",)
    return EvaluationRun(
        source=SideResult("source", tuple(results[: len(chosen)]), source_pricing),
        target=SideResult("target", tuple(results[len(chosen) :]), target_pricing),
        items_total=len(items),
        items_run=len(chosen),
        notes=notes,
    )
