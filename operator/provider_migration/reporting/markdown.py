"""The report as Markdown; figures are inline base64 PNG images, so the file stands alone too."""

from __future__ import annotations

from .model import Report, Section, Table


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")


def _table(table: Table) -> list[str]:
    lines = [f"**{_cell(table.title)}**", ""] if table.title else []
    headers = [h or " " for h in table.headers]
    lines.append("| " + " | ".join(_cell(h) for h in headers) + " |")
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows]
    return [*lines, ""]


def _section(section: Section) -> list[str]:
    lines = [f"## {section.title}", ""]
    lines += [f"> {n}\n" for n in section.notes]
    for figure in section.figures:
        alt = figure.alt.replace("]", ")").replace("[", "(")
        lines += [f"![{alt}]({figure.data_uri()})", "", f"*{figure.title}*", ""]
    for table in section.tables:
        lines += _table(table)
    return lines


def render_markdown(report: Report) -> str:
    generated = report.generated_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = [f"# {report.title}", "", f"Generated {generated} by pmo report.", ""]
    lines += _table(Table(["", ""], [[k, v] for k, v in report.facts]))
    lines += [f"> {n}\n" for n in report.notes]
    for section in report.sections:
        lines += _section(section)
    return "\n".join(lines).rstrip() + "\n"
