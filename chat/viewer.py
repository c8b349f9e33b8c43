"""The document behind a citation ("Open" on a source card): a PDF page rendered as an image with the cited
passage highlighted, or the document's text with the passage highlighted (a transcript with its timestamps);
the page's script scrolls to `.cited`.

PDF pages are rendered with pypdfium2, which also gives the boxes of the passage's characters on the page, so
render and highlight come from one library in this process (pdftoppm would render, but the boxes would need
pdftotext -bbox and a second parse; measured in docs/chat.md).
"""

from __future__ import annotations

import base64
import io
import logging
from html import escape
from pathlib import Path

from chat.sources import highlight, locate
from kb.types import Chunk, Source

log = logging.getLogger(__name__)
SCALE = 1.5  # 108 dpi: body text readable in a 600 px wide panel
EMPTY = "<div class='viewer-empty'>Choose <b>Open</b> on a source, or click a citation, to see it in its document.</div>"


def view(source: Source, chunk: Chunk | None, chunks: list[Chunk]) -> str:
    head = (f"<div class='viewer-head'><b>{escape(source.title)}</b> · {escape(source.place)}"
            f" <span class='viewer-n'>[{source.n}]</span></div>")
    if chunk is None:
        return head + "<div class='viewer-empty'>This passage is no longer in the library (removed or changed).</div>"
    needles = list(source.quotes) or [chunk.text]
    path = Path(chunk.path)
    if chunk.page is not None and path.suffix.lower() == ".pdf" and path.exists():
        try:
            png, boxes, top = pdf_page(path, chunk.page, needles)
            if not boxes:  # the quotes' words differ from the page's text layer: mark the whole passage
                png, boxes, top = pdf_page(path, chunk.page, [chunk.text])
            return head + (f"<div class='doc pdf' data-highlights='{boxes}'><div class='pdf-page'>"
                           f"<img alt='page {chunk.page} of {escape(source.title)}' "
                           f"src='data:image/png;base64,{base64.b64encode(png).decode()}'>"
                           f"<span class='cited' style='top:{top:.1%}'></span></div></div>")
        except Exception as exc:  # a PDF pdfium cannot open: its text still shows
            log.warning("%s: cannot render page %s (%s); showing its text", path, chunk.page, exc)
    return head + text_view(chunk, chunks, needles)


def text_view(cited: Chunk, chunks: list[Chunk], quotes: list[str]) -> str:
    """The document's passages in order (overlaps cut), the cited one marked, a transcript's with timestamps."""
    parts, pos = [], 0
    for c in chunks or [cited]:
        mine = c.id == cited.id
        if c.end <= pos and not mine:
            continue
        text = c.text if mine or c.start >= pos else c.text[pos - c.start:]
        pos = max(pos, c.end)
        stamp = f"<span class='ts'>{escape(c.place)}</span> " if c.timestamp else ""
        body = highlight(text, quotes) if mine else escape(text).replace("\n", "<br>")
        parts.append(f"<p class='{'cited' if mine else 'part'}'>{stamp}{body}</p>")
    return f"<div class='doc text' data-highlights='{sum(p.count('<mark>') for p in parts)}'>{''.join(parts)}</div>"


def pdf_page(path: Path, page: int, needles: list[str], scale: float = SCALE) -> tuple[bytes, int, float]:
    """Page `page` (1-based) as PNG with each needle's character boxes filled; the number of boxes, and the
    first box's top as a fraction of the page height (where to scroll)."""
    import pypdfium2 as pdfium
    from PIL import Image, ImageDraw

    pdf = pdfium.PdfDocument(str(path))
    try:
        pg = pdf[page - 1]
        tp = pg.get_textpage()
        text = tp.get_text_range()
        boxes = []
        for needle in needles:
            span = locate(text, needle)
            if span:
                n = tp.count_rects(span[0], span[1] - span[0])
                boxes += [tp.get_rect(i) for i in range(n)]
        height = pg.get_height()
        img = pg.render(scale=scale).to_pil().convert("RGBA")
        overlay = Image.new("RGBA", img.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        for left, bottom, right, top in boxes:
            draw.rectangle([left * scale - 1, (height - top) * scale - 1, right * scale + 1, (height - bottom) * scale + 1],
                           fill=(250, 204, 21, 96))
        out = io.BytesIO()
        Image.alpha_composite(img, overlay).convert("RGB").save(out, "PNG")
        first = min((height - top) / height for _, _, _, top in boxes) if boxes else 0.0
        return out.getvalue(), len(boxes), first
    finally:
        pdf.close()
