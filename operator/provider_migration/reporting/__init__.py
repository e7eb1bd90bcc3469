"""Migration reports (`pmo report`): facts, timeline, criteria over time, decisions, evaluation and cost,
with matplotlib figures embedded as PNG, rendered as self-contained HTML or Markdown.

Library use: `render_html(build_report(obj, PrometheusRangeSource(url) or None))`.
"""

from .collect import build_report
from .html import render_html
from .markdown import render_markdown
from .model import CriterionSeries, Figure, Report, Section, Table
from .source import PrometheusRangeSource, RangeSource

__all__ = [
    "CriterionSeries",
    "Figure",
    "PrometheusRangeSource",
    "RangeSource",
    "Report",
    "Section",
    "Table",
    "build_report",
    "render_html",
    "render_markdown",
]
