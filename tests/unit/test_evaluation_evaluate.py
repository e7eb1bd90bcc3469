"""`evaluate()` as the controller calls it, with both providers behind an in-process httpx transport."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.evaluation import EvaluationOutcome, evaluate, results_config_map_name
from provider_migration.evaluation.evaluate import RESULTS_KEY

SOURCE_KEY, TARGET_KEY = "sk-source-secret-value", "sk-ant-target-secret-value"
ANSWERS = {"Capital of France?": "Paris", "2 + 2?": "4", "Colour of the sky?": "Blue"}
DATASET = "\n".join(
    json.dumps({"id": f"q{i}", "messages": [{"role": "user", "content": q}], "expected": a})
    for i, (q, a) in enumerate(ANSWERS.items())
)


def spec(**evaluation: Any) -> ProviderMigrationSpec:
    return ProviderMigrationSpec.from_wire({
        "route": {"kind": "ConfigMap", "name": "gw", "modelName": "chat"},
        "source": {"provider": "openai", "model": "gpt-4o", "backend": "src", "apiBase": "http://source.test/v1"},
        "target": {"provider": "anthropic", "model": "claude-haiku-4-5", "backend": "tgt",
                   "apiBase": "http://target.test"},
        "evaluation": {"dataset": {"configMap": "golden"}, "concurrency": 2, **evaluation},
        # In-process latencies are microseconds of noise: the latency gate is tested on fixed figures elsewhere.
        "analysis": {"prometheus": {"url": "http://prometheus.test"},
                     "rollbackOn": {"latencyP95": {"enabled": False}}},
    })  # fmt: skip


class Providers:
    """Both APIs on one transport; the target can answer wrongly or fail."""

    def __init__(self, target_wrong: bool = False, target_status: int = 200) -> None:
        self.target_wrong, self.target_status = target_wrong, target_status
        self.headers: list[httpx.Headers] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.headers.append(request.headers)
        body = json.loads(request.content)
        question = body["messages"][-1]["content"]
        if request.url.host == "source.test":
            assert request.headers["authorization"] == f"Bearer {SOURCE_KEY}"
            answer = ANSWERS[question]
            return httpx.Response(200, json={"choices": [{"message": {"content": answer}}],
                                             "usage": {"prompt_tokens": 20, "completion_tokens": 5}})  # fmt: skip
        assert request.headers["x-api-key"] == TARGET_KEY
        if self.target_status != 200:
            error = {"type": "error", "error": {"type": "api_error", "message": f"bad key? {TARGET_KEY}"}}
            return httpx.Response(self.target_status, json=error)
        answer = "I am not sure" if self.target_wrong else f"It is {ANSWERS[question].lower()}."
        return httpx.Response(200, json={"content": [{"type": "text", "text": answer}],
                                         "usage": {"input_tokens": 21, "output_tokens": 5}})  # fmt: skip


def outcome_of(
    providers: Providers, migration: ProviderMigrationSpec | None = None, data: str = DATASET
) -> EvaluationOutcome:
    return asyncio.run(
        evaluate(
            migration or spec(), data, source_key=SOURCE_KEY, target_key=TARGET_KEY,
            results_config_map=results_config_map_name("support-bot"), transport=httpx.MockTransport(providers),
        )
    )  # fmt: skip


def assert_no_secret(outcome: EvaluationOutcome) -> None:
    exposed = outcome.status.model_dump_json() + json.dumps(outcome.results_data())
    assert SOURCE_KEY not in exposed and TARGET_KEY not in exposed


def test_a_good_target_passes_with_both_summaries_and_a_results_table() -> None:
    outcome = outcome_of(Providers())
    status = outcome.status
    assert status.verdict == "Pass", status.message
    assert status.results_config_map == "support-bot-evaluation"
    assert (status.source.pass_rate, status.target.pass_rate) == (1.0, 1.0)
    # Pricing comes from the catalog when the spec has none: gpt-4o 2.5/10, claude-haiku-4-5 1/5 per 1M.
    assert status.source.cost is not None and abs(status.source.cost - 3 * (20 * 2.5 + 5 * 10) / 1e6) < 1e-12
    assert status.target.cost is not None and abs(status.target.cost - 3 * (21 * 1 + 5 * 5) / 1e6) < 1e-12
    rows = [json.loads(x) for x in outcome.results_data()[RESULTS_KEY].splitlines()]
    assert len(rows) == 6 and {r["id"] for r in rows} == {"q0", "q1", "q2"}
    assert_no_secret(outcome)


def test_a_target_with_wrong_answers_fails_on_quality() -> None:
    outcome = outcome_of(Providers(target_wrong=True))
    assert outcome.status.verdict == "Fail"
    assert outcome.status.message.startswith("evaluation failed: quality: target pass rate 0.0%")
    assert_no_secret(outcome)


def test_a_failing_target_fails_and_its_echoed_key_never_surfaces() -> None:
    outcome = outcome_of(Providers(target_status=500))
    assert outcome.status.verdict == "Fail" and "errorRate: target error rate 100.0%" in outcome.status.message
    # The provider's error type only, never its message (which echoed the key).
    assert outcome.run is not None and all(a.error == "HTTP 500: api_error" for a in outcome.run.target.attempts)
    assert_no_secret(outcome)


def test_the_request_budget_limits_calls() -> None:
    providers = Providers()
    outcome = outcome_of(providers, spec(maxRequests=4))
    assert len(providers.headers) == 4
    assert outcome.status.target.items == 2 and "request budget 4 covered 2 of 3 items" in outcome.status.message


def test_a_bad_dataset_is_an_error_before_any_call() -> None:
    providers = Providers()
    outcome = outcome_of(providers, data='{"messages": []}')
    assert outcome.status.verdict == "Error" and outcome.run is None
    assert outcome.status.message.startswith("dataset golden/dataset.jsonl: line 1")
    assert providers.headers == [] and outcome.results_data() == {RESULTS_KEY: ""}


def test_results_are_cut_to_fit_a_config_map() -> None:
    outcome = outcome_of(Providers())
    full = outcome.results_data()[RESULTS_KEY]
    small = outcome.results_data(limit=len(full.encode()) // 2)[RESULTS_KEY]
    assert 0 < len(small.encode()) <= len(full.encode()) // 2
    assert all(json.loads(x)["answer"] == "" for x in small.splitlines())
