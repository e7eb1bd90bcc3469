"""The golden-set gate, run by the operator in the Evaluating phase."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from kubernetes import client

from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.api.status import EvaluationStatus


class GoldenSetEvaluation:
    def __init__(
        self, api_client: client.ApiClient, api_for: Callable[[str, ProviderMigrationSpec], client.ApiClient]
    ) -> None:
        self._api = api_client  # the operator's own: reads the migration (the results' owner)
        self._api_for = api_for  # the migration's ServiceAccount: the dataset, the keys, the results ConfigMap

    def evaluate(self, namespace: str, name: str, spec: ProviderMigrationSpec, now: datetime) -> EvaluationStatus:
        # Imported here: the evaluation clients are only needed by migrations that ask for the gate.
        from provider_migration.evaluation.operator_gate import run_gate

        return run_gate(self._api_for(namespace, spec), namespace, name, spec, now, owner_api=self._api)
