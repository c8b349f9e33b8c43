"""Build the wild corpus's PDFs from their sources: `python -m evals.wild.pdfsrc` (markup in WRITING.md).

Real PDFs, as partnership staff receive them: running headers and footers on every page, two-column pages,
tables, numbered findings, slide decks in landscape. The output is deterministic (fixed creation date and
document id), so rebuilding an unchanged source leaves the committed PDF byte-identical.
"""

from __future__ import annotations

import logging
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import (BaseDocTemplate, Frame, ListFlowable, ListItem, PageBreak, PageTemplate,
                                Paragraph, Spacer, Table, TableStyle)
from xml.sax.saxutils import escape

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
LAYOUTS = ("report", "two-column", "slides")


@dataclass
class Source:
    title: str = ""
    layout: str = "report"
    header: str = ""
    footer: str = ""
    body: list[str] = field(default_factory=list)


def parse(text: str) -> Source:
    src = Source()
    for line in text.splitlines():
        m = re.match(r"^@(title|layout|header|footer):\s*(.*)$", line)
        if m and not src.body:
            setattr(src, m.group(1), m.group(2).strip())
        else:
            src.body.append(line.rstrip())
    if src.layout not in LAYOUTS:
        raise ValueError(f"@layout must be one of {LAYOUTS}, not {src.layout!r}")
    return src


def _styles(slides: bool) -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    scale = 1.6 if slides else 1.0
    body = ParagraphStyle("body", parent=base["BodyText"], fontSize=10 * scale, leading=13 * scale, spaceAfter=5)
    return {
        "h1": ParagraphStyle("h1", parent=base["Heading1"], fontSize=16 * scale, leading=20 * scale),
        "h2": ParagraphStyle("h2", parent=base["Heading2"], fontSize=12.5 * scale, leading=16 * scale),
        "body": body,
        "cell": ParagraphStyle("cell", parent=body, fontSize=8.5 * scale, leading=10.5 * scale, spaceAfter=0),
    }


def _inline(text: str) -> str:
    """Escape for reportlab's mini-markup; **bold** stays bold."""
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", escape(text))


def flowables(src: Source, width: float) -> list:
    st = _styles(src.layout == "slides")
    out: list = []
    para: list[str] = []
    items: list[str] = []
    numbered = False
    rows: list[list[str]] = []

    def flush() -> None:
        nonlocal para, items, rows
        if para:
            out.append(Paragraph(_inline(" ".join(para)), st["body"]))
        if items:
            out.append(ListFlowable([ListItem(Paragraph(_inline(t), st["body"])) for t in items],
                                    bulletType="1" if numbered else "bullet", start=None if numbered else "•",
                                    leftIndent=14))
        if rows:
            ncols = max(len(r) for r in rows)
            data = [[Paragraph(_inline(c), st["cell"]) for c in r + [""] * (ncols - len(r))] for r in rows]
            table = Table(data, colWidths=[width / ncols] * ncols, repeatRows=1)
            table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                                       ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                                       ("VALIGN", (0, 0), (-1, -1), "TOP")]))
            out.extend([table, Spacer(1, 6)])
        para, items, rows = [], [], []

    for line in src.body:
        s = line.strip()
        if s == "---page---":
            flush()
            out.append(PageBreak())
        elif not s:
            flush()
        elif m := re.match(r"^(#{1,2})\s+(.*)$", s):
            flush()
            out.append(Paragraph(_inline(m.group(2)), st["h1" if len(m.group(1)) == 1 else "h2"]))
        elif s.startswith("|"):
            if para or items:
                flush()
            rows.append([c.strip() for c in s.strip("|").split("|")])
        elif m := re.match(r"^(-|\d+\.)\s+(.*)$", s):
            if para or rows or (items and numbered != (m.group(1) != "-")):
                flush()
            numbered = m.group(1) != "-"
            items.append(m.group(2))
        else:
            if items or rows:
                flush()
            para.append(s)
    flush()
    return out


def build(src_path: Path, out_path: Path) -> Path:
    src = parse(src_path.read_text(encoding="utf-8"))
    slides = src.layout == "slides"
    size = landscape(A4) if slides else A4
    margin = 2 * cm
    doc = BaseDocTemplate(str(out_path), pagesize=size, leftMargin=margin, rightMargin=margin, topMargin=margin,
                          bottomMargin=margin, title=src.title, author="", creator="evals/wild/pdfsrc.py",
                          invariant=1)
    w, h = size[0] - 2 * margin, size[1] - 2 * margin
    if src.layout == "two-column":
        gap = 0.6 * cm
        col = (w - gap) / 2
        frames = [Frame(margin, margin, col, h, id="left"), Frame(margin + col + gap, margin, col, h, id="right")]
    else:
        col = w
        frames = [Frame(margin, margin, w, h, id="body")]

    def decorate(canvas, document) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        if src.header:
            canvas.drawString(margin, size[1] - margin + 0.6 * cm, src.header)
        if src.footer:
            canvas.drawCentredString(size[0] / 2, margin - 1.0 * cm, src.footer.replace("{page}", str(document.page)))
        canvas.restoreState()

    doc.addPageTemplates([PageTemplate(id="page", frames=frames, onPage=decorate)])
    doc.build(flowables(src, col))
    return out_path


def build_all(root: Path = HERE) -> list[Path]:
    """Every src/<split>/<cluster>/<name>.pdfsrc -> <split>/<cluster>/<name>.pdf."""
    built = []
    for src_path in sorted((root / "src").rglob("*.pdfsrc")):
        rel = src_path.relative_to(root / "src").with_suffix(".pdf")
        out = root / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        built.append(build(src_path, out))
        log.info("built %s", out.relative_to(root))
    return built


if __name__ == "__main__":  # pragma: no cover
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    build_all()
