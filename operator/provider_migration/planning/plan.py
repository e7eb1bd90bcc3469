"""The whole plan for one migration: current state, comparison matrix, true cost and ROI."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from provider_migration.api.spec import ProviderMigrationSpec
from provider_migration.planning.catalog import Catalog, load_catalog
from provider_migration.planning.current_state import CurrentState
from provider_migration.planning.forecast import DEFAULT_INPUT_SHARE, TokenVolume, cost
from provider_migration.planning.matrix import MatrixRow, comparison_matrix
from provider_migration.planning.roi import Roi, roi
from provider_migration.planning.true_cost import TrueCostInputs, TrueCostLine, true_cost


@dataclass(frozen=True)
class Plan:
    name: str
    namespace: str
    current: CurrentState
    monthly_volume: TokenVolume | None
    input_share: float
    matrix: list[MatrixRow]
    true_cost: list[TrueCostLine] = field(default_factory=list)
    roi: Roi | None = None
    currency: str = "USD"
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def row(r: MatrixRow) -> dict[str, Any]:
            out = asdict(r)
            out["pricing"] = r.pricing.to_wire() if r.pricing else None
            out["ref"] = r.ref
            return out

        return {
            "migration": {"name": self.name, "namespace": self.namespace},
            "currency": self.currency,
            "current_state": {
                "origin": self.current.origin,
                "window": "30d",
                "source": asdict(self.current.source),
                "target": asdict(self.current.target),
                "problems": list(self.current.problems),
            },
            "monthly_volume": asdict(self.monthly_volume) if self.monthly_volume else None,
            "input_share": self.input_share,
            "matrix": [row(r) for r in self.matrix],
            "true_cost": [asdict(line) | {"delta": line.delta} for line in self.true_cost],
            "roi": self.roi.to_dict() if self.roi else None,
            "notes": list(self.notes),
        }


def build_plan(
    spec: ProviderMigrationSpec,
    name: str,
    namespace: str,
    current: CurrentState,
    candidates: list[str],
    costs: TrueCostInputs,
    catalog: Catalog | None = None,
) -> Plan:
    """`costs` carries the team and infrastructure figures; its API fields are filled in here."""
    catalog = catalog or load_catalog()
    volume = current.monthly_volume
    share = volume.input_share if volume is not None and volume.total > 0 else DEFAULT_INPUT_SHARE
    observed = {"source": current.source, "target": current.target}
    matrix = comparison_matrix(spec.source, spec.target, candidates, volume, catalog, observed)
    source_row, target_row = matrix[0], matrix[1]
    notes: list[str] = []
    if volume is None:
        notes.append(
            "no token volume: give --monthly-input-tokens/--monthly-output-tokens or --prometheus URL "
            f"(blended prices use a {DEFAULT_INPUT_SHARE:.0%} input mix)"
        )
    for row in (source_row, target_row):
        if row.pricing is None:
            notes.append(f"{row.role} {row.ref}: no pricing in the spec and not in the catalog")
    currencies = {r.pricing.currency for r in (source_row, target_row) if r.pricing}
    if len(currencies) > 1:
        notes.append(f"source and target are priced in different currencies {sorted(currencies)}: no ROI")
    plan = Plan(name, namespace, current, volume, share, matrix, currency=next(iter(currencies), "USD"), notes=notes)
    if volume is None or source_row.pricing is None or target_row.pricing is None or len(currencies) > 1:
        return plan

    # Today: each backend's traffic at its own price (part may already be on the target).
    current_api = sum(
        cost(row.pricing, usage.volume)
        for row, usage in ((source_row, current.source), (target_row, current.target))
        if row.pricing is not None and usage.volume is not None
    )
    target_api = cost(target_row.pricing, volume)
    requests = current.monthly_requests
    err_src, err_tgt = current.source.error_rate, current.target.error_rate
    costs = replace(
        costs,
        api_current_monthly=current_api,
        api_target_monthly=target_api,
        error_rate_delta=err_tgt - err_src if err_src is not None and err_tgt is not None else None,
        monthly_requests=requests,
        target_cost_per_request=target_api / requests if requests else None,
    )
    lines, roi_inputs = true_cost(costs)
    return replace(plan, true_cost=lines, roi=roi(roi_inputs))
