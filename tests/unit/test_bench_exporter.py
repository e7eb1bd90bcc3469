"""The bench exporter (bench/pmobench/exporter.py) exports every series, with the arm label, that the
operator's `litellm` preset queries: when the two drift apart every benchmarked migration ends
Blocked/BaselineUnavailable (no baseline data) and the chaos run and scale bench measure nothing."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from provider_migration.analysis.presets import LITELLM

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from pmobench.exporter import Backend, LiteLLMExporter

# A series selector in a preset query: `name{label="value",...}`.
SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}")
MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"([^"]*)"')


def exported_samples() -> dict[str, list[dict[str, str]]]:
    exporter = LiteLLMExporter()
    exporter.add([Backend("src-0001", "openai/gpt-x"), Backend("tgt-0001", "anthropic/claude-x")])
    registry = CollectorRegistry(auto_describe=False)
    registry.register(exporter)
    samples: dict[str, list[dict[str, str]]] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(dict(sample.labels))
    return samples


def test_every_series_the_litellm_preset_reads_is_exported_for_each_backend() -> None:
    samples = exported_samples()
    for backend in ("src-0001", "tgt-0001"):
        queries = [q.replace("{{backend}}", backend).replace("{{interval}}", "1m") for q in LITELLM.values()]
        selectors = [(name, body) for query in queries for name, body in SELECTOR.findall(query)]
        assert len(selectors) >= len(LITELLM)  # the pattern does find the selectors
        for name, body in selectors:
            assert name in samples, f"{name} is not exported (exported: {sorted(samples)})"
            wanted = dict(MATCHER.findall(body))
            assert wanted, body
            assert any(wanted.items() <= labels.items() for labels in samples[name]), f"no {name} with {wanted}"
