"""PDF pages as structured text: the layout pypdf reports is read back into the line conventions of
ingest/structure.py.

pypdf gives each text run with its position and font size. From those:
- lines set in a larger font than the body are headings (`#`, `##` by size);
- a list marker extracted on its own line (`•` often comes out as `\\x7f`; numbers of numbered lists) is
  joined to the item it marks;
- cells printed on one baseline are one table row; a run of rows becomes `Header: cell; Header: cell` lines;
- running headers and footers (the same line on most pages, page numbers aside) are dropped.
Text that is not laid out this way (no runs reported) falls back to pypdf's plain extraction.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from ingest.structure import table_rows, unwrap

_BULLETS = {"\x7f", "•", "●", "◦", "▪", "■", "–", "-", "o", "", "·", "*"}
_NUMBER = re.compile(r"^\(?(\d{1,2}|[a-z])[.)]?$")
_PAGE_NO = re.compile(r"^(?:page\s*)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$", re.I)


@dataclass
class Line:
    text: str
    x: float
    y: float
    size: float
    cells: list[str] = field(default_factory=list)


def page_lines(page) -> tuple[str, list[Line]]:
    """pypdf's plain text of a page, and its visual lines in content order with position and font size."""
    lines: list[Line] = []
    cur: dict = {"text": "", "x": 0.0, "y": 0.0, "size": 0.0}

    def visit(text, cm, tm, font, size):
        if not text:
            return
        x = cm[4] + tm[4] * cm[0]
        y = cm[5] + tm[5] * cm[3]
        eff = size * (abs(tm[3]) or 1.0) * (abs(cm[3]) or 1.0)
        for i, part in enumerate(text.split("\n")):
            if i:
                _end(lines, cur)
            if part.strip():
                if not cur["text"].strip():
                    cur.update(x=x, y=y, size=eff)
                cur["text"] += part

    plain = page.extract_text(visitor_text=visit) or ""
    _end(lines, cur)
    return plain, _rows(lines)


def _end(lines: list[Line], cur: dict) -> None:
    text = re.sub(r"\s+", " ", cur["text"]).strip()
    if text:
        lines.append(Line(text, cur["x"], cur["y"], cur["size"]))
    cur.update(text="", x=0.0, y=0.0, size=0.0)


def _rows(lines: list[Line]) -> list[Line]:
    """Table rows back from lines: cells start on one baseline, left to right, and a cell's wrapped lines
    follow its first line at the same x. A group counts as a row only when a second cell appears."""
    out: list[Line] = []
    i = 0
    while i < len(lines):
        first = lines[i]
        cells, xs, j = [[first.text]], [first.x], i + 1
        while j < len(lines) and not _is_marker(first.text):
            ln = lines[j]
            if abs(ln.y - first.y) < 2.0 and ln.x > xs[-1] + 5:
                cells.append([ln.text])  # the next cell of this row
                xs.append(ln.x)
            elif abs(ln.x - xs[-1]) < 2.0 and first.y - 60 < ln.y < first.y - 2 and ln.size <= first.size + 0.5:
                cells[-1].append(ln.text)  # a wrapped line inside the current cell
            else:
                break
            j += 1
        if len(cells) >= 2:
            joined = [" ".join(c) for c in cells]
            out.append(Line(" ".join(joined), first.x, first.y, first.size, joined))
            i = j
        else:
            out.append(first)
            i += 1
    return out


def _is_marker(text: str) -> bool:
    return text in _BULLETS or bool(_NUMBER.match(text))


def document_text(pages: list[tuple[str, list[Line]]]) -> list[str]:
    """One structured text per page (pypdf's plain text where the layout reading lost much of it)."""
    structured = _structured([lines for _, lines in pages])
    return [s if lines else plain for s, (plain, lines) in zip(structured, pages)]


def _structured(pages: list[list[Line]]) -> list[str]:
    furniture = _running_lines(pages)
    sizes: Counter[float] = Counter()
    for lines in pages:
        for ln in lines:
            sizes[round(ln.size, 1)] += len(ln.text)
    body = sizes.most_common(1)[0][0] if sizes else 0.0
    heading_sizes = sorted({s for s in sizes if s >= body * 1.15}, reverse=True)
    return [_page_text(lines, furniture, body, heading_sizes) for lines in pages]


def _page_text(lines: list[Line], furniture: set[str], body: float, heading_sizes: list[float]) -> str:
    out: list[str] = []
    table: list[list[str]] = []
    pending = ""  # a list marker waiting for its item
    for i, ln in enumerate(lines):
        edge = i < 2 or i >= len(lines) - 2
        if _key(ln.text) in furniture or (edge and _PAGE_NO.match(ln.text) and not _next_is_item(lines, i)):
            continue
        if ln.cells and len(ln.cells) >= 2:
            table.append(ln.cells)
            continue
        if table:
            out.extend(table_rows(table) if len(table) >= 2 else [" ".join(table[0])])
            table = []
        if _is_marker(ln.text):
            pending = "• " if ln.text in _BULLETS else f"{_NUMBER.match(ln.text).group(1)}. "
            continue
        text = ln.text
        size = round(ln.size, 1)
        if pending:
            out.append(pending + text)
            pending = ""
        elif size in heading_sizes and len(text.split()) <= 15:
            level = min(heading_sizes.index(size) + 1, 3)
            mark = "#" * level + " "
            if len(out) >= 2 and out[-1] == "" and out[-2].startswith(mark):  # a heading wrapped over two lines
                out[-2] += " " + text
            else:
                out.extend(["", mark + text, ""])
        else:
            out.append(text)
    if table:
        out.extend(table_rows(table) if len(table) >= 2 else [" ".join(table[0])])
    return unwrap("\n".join(out))


def _next_is_item(lines: list[Line], i: int) -> bool:
    """A bare number followed by indented text on its baseline is a list number, not a page number."""
    return i + 1 < len(lines) and abs(lines[i + 1].y - lines[i].y) < 2.0 and lines[i + 1].x > lines[i].x


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", text.lower()).strip()


def _running_lines(pages: list[list[Line]]) -> set[str]:
    """Lines (digits aside) that open or close most pages: running headers and footers."""
    if len(pages) < 2:
        return set()
    counts: Counter[str] = Counter()
    for lines in pages:
        edge = lines[:3] + lines[-3:]
        counts.update({_key(ln.text) for ln in edge})
    need = max(2, (len(pages) + 1) // 2)
    return {k for k, n in counts.items() if n >= need and len(k) > 3}
