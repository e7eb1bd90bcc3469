"""A self-contained HTML page: inline CSS, figures as base64 PNG data URIs, no scripts, no external assets."""

from __future__ import annotations

from html import escape

from .model import Figure, Report, Section, Table

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#1b1f23;padding:0 1rem;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:1px solid #d0d7de;padding-bottom:.3rem;margin-top:2.2rem}
.generated{color:#57606a;font-size:.9rem}
table{border-collapse:collapse;margin:.8rem 0;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}table.facts th{width:14rem}
caption{text-align:left;font-weight:600;padding:.3rem 0}
.note{background:#fff8c5;border-left:4px solid #d4a72c;padding:.4rem .7rem;margin:.5rem 0}
figure{margin:1rem 0}figure img{max-width:100%;height:auto;border:1px solid #eaeef2}
figcaption{color:#57606a;font-size:.85rem}
.verdict{font-size:1.15rem;font-weight:600;border-left:6px solid #1e88e5;background:#f1f8ff;padding:.6rem .9rem}
"""


def _table(table: Table, css_class: str = "") -> str:
    cls = f' class="{css_class}"' if css_class else ""
    caption = f"<caption>{escape(table.title)}</caption>" if table.title else ""
    head = "".join(f"<th>{escape(h)}</th>" for h in table.headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in table.rows)
    return f"<table{cls}>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(figure: Figure) -> str:
    return (
        f'<figure><img src="{figure.data_uri()}" alt="{escape(figure.alt)}">'
        f"<figcaption>{escape(figure.title)}</figcaption></figure>"
    )


def _section(section: Section) -> str:
    parts = [f"<h2>{escape(section.title)}</h2>"]
    parts += [f'<p class="note">{escape(n)}</p>' for n in section.notes]
    parts += [_figure(f) for f in section.figures]
    parts += [_table(t) for t in section.tables]
    return "<section>" + "".join(parts) + "</section>"


def render_html(report: Report) -> str:
    facts = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in report.facts)
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in report.notes)
    generated = report.generated_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(report.title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{escape(report.title)}</h1>"
        f'<p class="generated">Generated {generated} by pmo report.</p>'
        + (f'<p class="verdict">{escape(report.verdict)}</p>' if report.verdict else "")
        + f'<table class="facts"><tbody>{facts}</tbody></table>{notes}'
        + "".join(_section(s) for s in report.sections)
        + "</body></html>\n"
    )
