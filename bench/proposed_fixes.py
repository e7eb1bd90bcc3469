"""`pmo` with the fix bench/scale.py's profile points at, applied in-process: a preview of its effect, measured
with `python bench/scale.py --proposed-fixes`, until the controller carries it (docs/performance.md).

controller/metrics.py `OperatorMetrics.record_analysis` finds the migration's stale `pmo_analysis_value`
series by collecting every migration's series (`_label_sets`): O(N) per analysis, O(N^2) per interval, and
it runs on kopf's event loop (handlers.py `_tick`), stalling every other driver. The fix remembers which
criteria each migration has a value for, so an analysis touches only its own series.

Run as the operator: python bench/proposed_fixes.py run --kubeconfig ... (same arguments as `pmo run`).
"""

from __future__ import annotations

import sys

from provider_migration.api.status import AnalysisStatus
from provider_migration.cli.main import main
from provider_migration.controller import metrics


def record_analysis(self: metrics.OperatorMetrics, namespace: str, name: str, analysis: AnalysisStatus) -> None:
    key = (namespace, name)
    if self._counted.get(key) == analysis.time:
        return
    self._counted[key] = analysis.time
    for result in analysis.criteria:
        self.analyses.labels(namespace, name, result.name, result.verdict).inc()
    self.analysis_runs.labels(namespace, name, analysis.verdict).inc()
    valued = {r.name: r.value for r in analysis.criteria if r.value is not None}
    known: dict[tuple[str, str], set[str]] = self.__dict__.setdefault("_valued", {})
    for criterion in known.get(key, set()) - valued.keys():
        metrics._remove(self.analysis_value, namespace, name, criterion)
    for criterion, value in valued.items():
        self.analysis_value.labels(namespace, name, criterion).set(value)
    known[key] = set(valued)


metrics.OperatorMetrics.record_analysis = record_analysis  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(main())
