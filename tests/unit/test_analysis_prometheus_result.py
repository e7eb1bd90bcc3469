"""Turning a Prometheus instant-query result into one number (the HTTP side is tested in e2e)."""

from __future__ import annotations

import math

import pytest

from provider_migration.analysis.prometheus import PrometheusSource, parse_result
from provider_migration.analysis.source import QueryFailed, sample_count


def vector(*values: str) -> list[dict[str, object]]:
    return [{"metric": {}, "value": [1764158400.0, v]} for v in values]


def test_single_series_vector() -> None:
    assert parse_result(vector("0.25")) == 0.25


def test_scalar() -> None:
    assert parse_result([1764158400.0, "3.5"]) == 3.5


@pytest.mark.parametrize("result", [[], vector("NaN"), [1764158400.0, "NaN"]])
def test_empty_or_nan_is_no_data(result: object) -> None:
    assert parse_result(result) is None


def test_infinity_is_a_value() -> None:
    assert parse_result(vector("+Inf")) == math.inf


def test_several_series_are_refused() -> None:
    with pytest.raises(QueryFailed, match="2 series"):
        parse_result(vector("1", "2"))


def test_a_range_vector_is_refused() -> None:
    with pytest.raises(QueryFailed, match="range vector"):
        parse_result([{"metric": {}, "values": [[1, "1"], [2, "2"]]}])


def test_sample_count_from_rate() -> None:
    assert sample_count(0.5, 60) == 30
    assert sample_count(None, 60) is None
    assert sample_count(math.nan, 60) is None


def test_the_token_is_never_shown() -> None:
    source = PrometheusSource("http://user:pw@prometheus:9090/", timeout_s=3, bearer_token="s3cr3t-token")
    assert "s3cr3t-token" not in repr(source) and "pw" not in repr(source)
    assert repr(source) == "PrometheusSource(url='http://prometheus:9090', timeout_s=3)"
    source.close()
