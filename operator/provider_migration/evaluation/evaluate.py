"""One call for the controller (and `pmo eval`): dataset text and keys in, EvaluationStatus and results out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from provider_migration.api.durations import seconds
from provider_migration.api.spec import ProviderMigrationSpec, RollbackOn
from provider_migration.api.status import EvaluationStatus
from provider_migration.evaluation.dataset import DatasetError, parse_dataset
from provider_migration.evaluation.gate import judge
from provider_migration.evaluation.providers import client_for
from provider_migration.evaluation.runner import EvaluationRun, run_evaluation
from provider_migration.planning.catalog import Catalog, pricing_for

RESULTS_KEY = "results.jsonl"
CONFIG_MAP_DATA_LIMIT = 900_000  # bytes; a ConfigMap holds at most 1 MiB in all


@dataclass(frozen=True)
class EvaluationOutcome:
    status: EvaluationStatus
    run: EvaluationRun | None = None  # None when the run could not start (dataset or configuration error)

    def results_data(self, limit: int = CONFIG_MAP_DATA_LIMIT) -> dict[str, str]:
        """ConfigMap data with the per-item table as JSON lines, cut to fit (answers first, then rows)."""
        if self.run is None:
            return {RESULTS_KEY: ""}
        rows = self.run.rows()
        text = _jsonl(rows)
        if len(text.encode()) > limit:
            rows = [r | {"answer": ""} for r in rows]
            text = _jsonl(rows)
        while len(text.encode()) > limit and rows:
            rows = rows[: len(rows) // 2]
            text = _jsonl(rows)
        return {RESULTS_KEY: text}


def results_config_map_name(migration: str) -> str:
    """Name of the ConfigMap holding the per-item table, next to the migration."""
    return f"{migration[:240]}-evaluation"


def _jsonl(rows: list[dict[str, object]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


async def evaluate(
    spec: ProviderMigrationSpec,
    dataset_text: str,
    *,
    source_key: str | None,
    target_key: str | None,
    now: datetime | None = None,
    results_config_map: str | None = None,
    source_url: str | None = None,
    target_url: str | None = None,
    catalog: Catalog | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> EvaluationOutcome:
    """Run spec.evaluation and judge it against spec.analysis.rollbackOn (defaults without analysis).

    Never raises for provider failures or a bad dataset: those come back as verdict Fail or Error with a
    message. Keys are used for the calls only. `source_url`/`target_url` override the endpoints' API bases.
    """
    if spec.evaluation is None:
        raise ValueError("spec.evaluation is not set")
    ev = spec.evaluation
    limits = spec.analysis.rollback_on if spec.analysis is not None else RollbackOn()

    def error(message: str) -> EvaluationOutcome:
        status = EvaluationStatus(
            verdict="Error", completed_at=now or datetime.now(UTC), message=message[:4096],
            results_config_map=results_config_map,
        )  # fmt: skip
        return EvaluationOutcome(status)

    try:
        items = parse_dataset(dataset_text, ev.scorers)
    except DatasetError as exc:
        return error(f"dataset {ev.dataset.config_map}/{ev.dataset.key}: {exc}")
    timeout = float(seconds(ev.timeout))
    try:
        source = client_for(spec.source, source_key, base_url=source_url, timeout=timeout, transport=transport)
        target = client_for(spec.target, target_key, base_url=target_url, timeout=timeout, transport=transport)
    except ValueError as exc:
        return error(str(exc))
    try:
        run = await run_evaluation(
            items, ev.scorers, source, target,
            concurrency=ev.concurrency, max_requests=ev.max_requests,
            source_pricing=pricing_for(spec.source, catalog)[0], target_pricing=pricing_for(spec.target, catalog)[0],
        )  # fmt: skip
    finally:
        await source.aclose()
        await target.aclose()
    status = judge(run, limits, now or datetime.now(UTC), results_config_map)
    return EvaluationOutcome(status, run)
