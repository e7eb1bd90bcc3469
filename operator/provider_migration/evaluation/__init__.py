"""Golden-set evaluation: run a dataset through source and target, score the answers, gate the rollout.

The controller calls `evaluate(spec, dataset_text, source_key=..., target_key=...)` during the
Evaluating phase and stores `outcome.status` in status.evaluation and `outcome.results_data()` in a
ConfigMap named `results_config_map_name(migration)`.
"""

from provider_migration.evaluation.evaluate import EvaluationOutcome, evaluate, results_config_map_name

__all__ = ["EvaluationOutcome", "evaluate", "results_config_map_name"]
