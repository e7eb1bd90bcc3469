"""The runner: every item through both sides, bounded concurrency, request budget, per-side figures."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from provider_migration.api.spec import Pricing, Scorer
from provider_migration.evaluation.dataset import Item, Message, parse_dataset
from provider_migration.evaluation.providers import Completion, ProviderError
from provider_migration.evaluation.runner import percentile, run_evaluation

CONTAINS = [Scorer(type="contains")]


def dataset(n: int) -> list[Item]:
    lines = [
        f'{{"id": "q{i}", "messages": [{{"role": "user", "content": "q{i}"}}], "expected": "a{i}"}}' for i in range(n)
    ]
    return parse_dataset("\n".join(lines), CONTAINS)


class FakeClient:
    """Answers `a<i>` to `q<i>` unless told to fail or be wrong; tracks concurrency."""

    def __init__(
        self, wrong: Sequence[str] = (), failing: Sequence[str] = (), tokens: tuple[int, int] = (100, 50)
    ) -> None:
        self.wrong, self.failing, self.tokens = set(wrong), set(failing), tokens
        self.in_flight = self.max_in_flight = self.calls = 0

    async def complete(
        self, messages: Sequence[Message], *, max_tokens: int | None = None, temperature: float | None = None
    ) -> Completion:
        question = messages[-1].text()
        self.calls += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.005)
        finally:
            self.in_flight -= 1
        if question in self.failing:
            raise ProviderError(500, "server_error: boom")
        answer = "something else" if question in self.wrong else "a" + question[1:]
        latency = int(question[1:]) / 100  # q7 takes 70 ms: percentiles are predictable
        return Completion(answer, self.tokens[0], self.tokens[1], latency)

    async def aclose(self) -> None:
        pass


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], 0.5) is None
    assert percentile([3.0], 0.95) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == pytest.approx(2.5)
    assert percentile(list(map(float, range(1, 101))), 0.95) == pytest.approx(95.05)


def test_every_item_runs_on_both_sides_and_is_scored() -> None:
    source, target = FakeClient(), FakeClient(wrong=["q1"], failing=["q2"])
    run = asyncio.run(run_evaluation(dataset(10), CONTAINS, source, target, concurrency=3, max_requests=100))
    assert (source.calls, target.calls, run.items_run, run.items_total) == (10, 10, 10, 10)
    assert run.source.pass_rate == 1.0 and run.target.pass_rate == pytest.approx(0.8)
    assert (run.target.errors, run.target.error_rate) == (1, pytest.approx(0.1))
    by_id = {a.item_id: a for a in run.target.attempts}
    assert by_id["q1"].failed_checks == ("contains: answer does not contain 'a1'",) and by_id["q1"].error is None
    assert by_id["q2"].error == "HTTP 500: server_error: boom" and not by_id["q2"].passed
    # p95 over answered requests only (q2 failed): latencies 0, 10, 30..90 ms.
    assert run.target.latency(0.95) == pytest.approx(percentile([i / 100 for i in range(10) if i != 2], 0.95))
    assert len(run.rows()) == 20 and {r["side"] for r in run.rows()} == {"source", "target"}


def test_concurrency_is_bounded_per_provider() -> None:
    source, target = FakeClient(), FakeClient()
    asyncio.run(run_evaluation(dataset(20), CONTAINS, source, target, concurrency=3, max_requests=100))
    assert source.max_in_flight == 3 and target.max_in_flight == 3


def test_the_request_budget_counts_both_sides_and_keeps_dataset_order() -> None:
    source, target = FakeClient(), FakeClient()
    run = asyncio.run(run_evaluation(dataset(10), CONTAINS, source, target, concurrency=2, max_requests=7))
    assert source.calls + target.calls == 6
    assert [a.item_id for a in run.source.attempts] == ["q0", "q1", "q2"]
    assert run.notes == ("request budget 7 covered 3 of 10 items",)
    with pytest.raises(ValueError):
        asyncio.run(run_evaluation(dataset(1), CONTAINS, source, target, max_requests=1))


def test_cost_from_pricing_and_the_paired_forecast() -> None:
    price = Pricing(input_per_million=1000, output_per_million=2000)  # 0.001 per input token, 0.002 per output
    source, target = FakeClient(tokens=(10, 5)), FakeClient(tokens=(10, 8), failing=["q0"])
    run = asyncio.run(run_evaluation(dataset(3), CONTAINS, source, target, source_pricing=price, target_pricing=price))
    assert run.source.cost == pytest.approx(3 * (10 + 10) / 1000)
    assert run.target.cost == pytest.approx(2 * (10 + 16) / 1000)  # a failed call costs nothing
    # Over the two items both answered: the target's actual cost vs the source's tokens at the target's prices.
    assert run.paired_costs() == (pytest.approx(0.052), pytest.approx(0.040), 2)
    summary = run.target.summary()
    assert (summary.items, summary.errors, summary.input_tokens, summary.output_tokens) == (3, 1, 20, 16)


def test_without_pricing_cost_is_unknown_not_zero() -> None:
    run = asyncio.run(run_evaluation(dataset(2), CONTAINS, FakeClient(), FakeClient()))
    assert run.source.cost is None and run.paired_costs() is None
