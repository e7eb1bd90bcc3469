"""Cost arithmetic, the true-cost table and ROI (including the playbook's worked example)."""

from __future__ import annotations

import json

import pytest

from provider_migration.api.spec import Pricing
from provider_migration.cli.main import main
from provider_migration.planning.forecast import TokenVolume, blended_per_million, cost
from provider_migration.planning.roi import RoiInputs, roi
from provider_migration.planning.true_cost import TrueCostInputs, true_cost

GPT4O = Pricing(input_per_million=2.5, output_per_million=10)


def test_blended_price_weights_input_and_output_by_the_mix() -> None:
    assert blended_per_million(GPT4O, 0.75) == pytest.approx(0.75 * 2.5 + 0.25 * 10)
    assert blended_per_million(GPT4O, 1.0) == 2.5
    assert blended_per_million(GPT4O, 0.0) == 10
    with pytest.raises(ValueError):
        blended_per_million(GPT4O, 1.5)


def test_monthly_cost_and_mix_of_a_volume() -> None:
    month = TokenVolume(input=300_000_000, output=100_000_000)
    assert cost(GPT4O, month) == pytest.approx(750 + 1000)
    assert month.input_share == pytest.approx(0.75)
    # The blended price at the volume's own mix reproduces its cost.
    assert blended_per_million(GPT4O, month.input_share) * month.total / 1e6 == pytest.approx(cost(GPT4O, month))


def test_worked_example() -> None:
    result = roi(RoiInputs(current_monthly=50_000, target_monthly=20_000, effort_hours=200, hourly_rate=150))
    assert result.annual_savings == 360_000
    assert result.migration_cost == 30_000
    assert result.payback_months == 1
    assert result.payback_months_exact == pytest.approx(1.0)
    assert result.roi_12_months == 330_000


def test_worked_example_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    argv = "plan roi --current-monthly 50000 --target-monthly 20000 --effort-hours 200 --hourly-rate 150 --format json"
    assert main(argv.split()) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["annual_savings"], out["migration_cost"], out["payback_months"], out["roi_12_months"]) == (
        360_000,
        30_000,
        1,
        330_000,
    )


def test_payback_rounds_up_to_whole_months_and_keeps_the_exact_figure() -> None:
    result = roi(RoiInputs(current_monthly=10_000, target_monthly=3_000, effort_hours=200, hourly_rate=150))
    assert result.payback_months_exact == pytest.approx(30_000 / 7_000)
    assert result.payback_months == 5


def test_learning_curve_and_other_one_off_costs_count() -> None:
    result = roi(RoiInputs(50_000, 20_000, effort_hours=200, hourly_rate=150, learning_curve_hours=40, other_one_off=1))
    assert result.migration_cost == (200 + 40) * 150 + 1
    assert result.roi_12_months == 360_000 - result.migration_cost


@pytest.mark.parametrize(("current", "target", "word"), [(20_000, 50_000, "more"), (20_000, 20_000, "same")])
def test_a_target_that_costs_more_or_the_same_never_pays_back(current: float, target: float, word: str) -> None:
    result = roi(RoiInputs(current, target, effort_hours=200, hourly_rate=150))
    assert result.payback_months is None and result.payback_months_exact is None
    assert result.no_payback_reason is not None and word in result.no_payback_reason
    assert result.roi_12_months == 12 * (current - target) - 30_000


def test_no_payback_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    argv = "plan roi --current-monthly 100 --target-monthly 200 --effort-hours 1 --hourly-rate 1 --format json"
    assert main(argv.split()) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["payback_months"] is None and "never pays back" in out["no_payback_reason"]


def test_negative_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="effort_hours"):
        RoiInputs(1, 1, effort_hours=-1, hourly_rate=1)
    with pytest.raises(SystemExit):
        main(["plan", "roi", "--current-monthly", "-5", "--target-monthly", "1"])


def test_true_cost_adds_infrastructure_errors_team_time_and_learning() -> None:
    lines, inputs = true_cost(
        TrueCostInputs(
            api_current_monthly=1000, api_target_monthly=400, infra_current_monthly=50, infra_target_monthly=80,
            effort_hours=100, hourly_rate=100, learning_curve_hours=None,
            error_rate_delta=0.02, monthly_requests=10_000, target_cost_per_request=0.01,
        )
    )  # fmt: skip
    by_item = {line.item: line for line in lines}
    assert by_item["Error handling (delta)"].target == pytest.approx(0.02 * 10_000 * 0.01)
    assert by_item["Team time"].target == 100 * 100
    assert by_item["Learning curve"].target == 25 * 100  # default: a quarter of the effort
    assert inputs.current_monthly == pytest.approx(1000 + 50)
    assert inputs.target_monthly == pytest.approx(400 + 80 + 2)
    assert inputs.learning_curve_hours == 25


def test_true_cost_uses_given_error_handling_and_never_credits_a_lower_error_rate() -> None:
    given_lines, _ = true_cost(TrueCostInputs(error_handling_monthly=123.0, error_rate_delta=0.5))
    assert {x.item: x.target for x in given_lines}["Error handling (delta)"] == 123.0
    better, _ = true_cost(TrueCostInputs(error_rate_delta=-0.03, monthly_requests=1e6, target_cost_per_request=1))
    assert {x.item: x.target for x in better}["Error handling (delta)"] == 0.0
