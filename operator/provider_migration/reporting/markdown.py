"""The report as Markdown; figures are PNG files next to it, linked by relative path (Markdown viewers, Git
hosts and diffs handle image files; inline base64 bloats the text and many renderers refuse it)."""

from __future__ import annotations

import re
from urllib.parse import quote

from .model import Figure, Report, Section, Table


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")


def _table(table: Table) -> list[str]:
    lines = [f"**{_cell(table.title)}**", ""] if table.title else []
    headers = [h or " " for h in table.headers]
    lines.append("| " + " | ".join(_cell(h) for h in headers) + " |")
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows]
    return [*lines, ""]


def image_files(report: Report, images_dir: str) -> dict[str, bytes]:
    """Each figure's relative path (under `images_dir`) and PNG bytes, in the order the report shows them."""
    return {_image_path(images_dir, i, f): f.png for i, f in enumerate(report.figures, 1)}


def _image_path(images_dir: str, number: int, figure: Figure) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", figure.title.lower()).strip("-") or "figure"
    return f"{images_dir}/{number:02d}-{slug}.png"


def _section(section: Section, paths: dict[int, str]) -> list[str]:
    lines = [f"## {section.title}", ""]
    lines += [f"> {n}\n" for n in section.notes]
    for figure in section.figures:
        alt = figure.alt.replace("]", ")").replace("[", "(")
        lines += [f"![{alt}]({quote(paths[id(figure)])})", "", f"*{figure.title}*", ""]
    for table in section.tables:
        lines += _table(table)
    return lines


def render_markdown(report: Report, images_dir: str = "images") -> str:
    """The Markdown text; its images are `image_files(report, images_dir)`, to be written next to it."""
    paths = {id(f): _image_path(images_dir, i, f) for i, f in enumerate(report.figures, 1)}
    generated = report.generated_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = [f"# {report.title}", "", f"Generated {generated} by pmo report.", ""]
    if report.verdict:
        lines += [f"**{_cell(report.verdict)}**", ""]
    lines += _table(Table(["", ""], [[k, v] for k, v in report.facts]))
    lines += [f"> {n}\n" for n in report.notes]
    for section in report.sections:
        lines += _section(section, paths)
    return "\n".join(lines).rstrip() + "\n"
