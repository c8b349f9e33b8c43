"""A document's structure, made explicit in its plain text before cleaning and chunking.

Every format ends in the same small set of line conventions that the chunker and the readers understand:
- `# Heading` (up to six `#`): a heading; it names the section of what follows;
- `• item` or `1. item`: a list item (`-`, `*`, `+` bullets become `•` in cleaning);
- `Label: value`: a key-value line, kept whole; a table row becomes one, `Header: cell; Header: cell`;
- anything else: a paragraph (one line; cleaning unwraps soft line breaks).

Metadata lines at the top of a scraped page (`Title:`, `URL Source:`, `Published Time:`, `Date:`, ...) and
YAML front matter are lifted out of the text into the document's metadata, so they are never quoted as an
answer. Markdown's own markup (emphasis, images, link-only menu items, rules, fences) is reduced to text.
"""

from __future__ import annotations

import re

# Keys of metadata lines at the top of a page, as scrapers and CMS exports write them.
_META_KEYS = {
    "title": "title", "url source": "url", "source url": "url", "url": "url", "source": "url", "link": "url",
    "published time": "date", "published": "date", "date": "date", "last updated": "date", "updated": "date",
    "author": "author", "authors": "author", "author(s)": "author", "by": "author",
    "keywords/tags": "keywords", "keywords": "keywords", "tags": "keywords", "description": "description",
}
_META_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z /()]{0,20}?)\s*:\s*(.*?)\s*$")
_MARKER_LINE = re.compile(r"^\s*Markdown Content:\s*$", re.I)  # the Jina-reader scrape format's separator
_META_SCAN = 12  # metadata sits in the first lines of a page, never further down


def lift_metadata(text: str) -> tuple[dict[str, str], str]:
    """Metadata lines (and YAML front matter) at the top of `text`, and the text without them."""
    meta: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    if lines and lines[0].strip() == "---":  # YAML front matter
        end = next((j for j in range(1, min(len(lines), 60)) if lines[j].strip() in ("---", "...")), None)
        if end is not None:
            for ln in lines[1:end]:
                _meta_entry(ln, meta)
            i = end + 1
    seen = 0
    while i < len(lines) and seen < _META_SCAN:
        ln = lines[i]
        if not ln.strip():
            i += 1
            continue
        if _MARKER_LINE.match(ln):
            i += 1
            break
        if not _meta_entry(ln, meta):
            break
        seen += 1
        i += 1
    return meta, "\n".join(lines[i:]).lstrip("\n")


def _meta_entry(line: str, meta: dict[str, str]) -> bool:
    m = _META_LINE.match(line)
    key = _META_KEYS.get(m.group(1).strip().lower()) if m else None
    if not key:
        return False
    value = m.group(2).strip().strip("\"'")
    if key == "title":
        value = re.sub(r"^#+\s*", "", value)
    meta.setdefault(key, value)
    return True


# Markdown --------------------------------------------------------------------------------------------------
_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)")
_LINK_ITEM = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s*\[[^\]\n]*\]\([^)\n]*\)\s*$")  # a menu entry: a bullet holding only a link
_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1|(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=\S)\*(?![\w*])")
_RULE = re.compile(r"^\s*(?:[-*_]\s*){3,}$")
_SETEXT = re.compile(r"^(=+|-+)\s*$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_COMMENT = re.compile(r"<!--.*?-->", re.S)


def markdown_text(text: str) -> str:
    """Markdown (or a Markdown-like scraped page) in the line conventions above."""
    text = _COMMENT.sub("", text)
    lines = text.split("\n")
    out: list[str] = []
    table: list[list[str]] = []
    fenced = False

    def flush_table() -> None:
        out.extend(table_rows(table))
        table.clear()

    for i, line in enumerate(lines):
        s = line.strip()
        if s.startswith("```") or s.startswith("~~~"):
            fenced = not fenced
            continue
        if fenced:
            out.append(line)
            continue
        if s.startswith("|") and s.count("|") >= 2:
            if not _TABLE_SEP.match(s):
                table.append([c.strip() for c in s.strip().strip("|").split("|")])
            continue
        if table:
            flush_table()
        nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if s and not s.startswith(("#", "-", "*", "+", "•", ">", "|")) and _SETEXT.match(nxt) and len(nxt) >= 3:
            out.append(("# " if nxt[0] == "=" else "## ") + s)  # "Heading\n=====" style
            continue
        if _SETEXT.match(s) and out and out[-1].startswith("#"):
            continue
        if _RULE.match(s) or _LINK_ITEM.match(s):
            continue
        s = re.sub(r"^(?:>\s?)+", "", s)  # block quotes read as their text
        s = _IMAGE.sub("", s)
        s = _EMPHASIS.sub(lambda m: m.group(2) or m.group(3), s)
        s = re.sub(r"^(#{1,6})([^#\s])", r"\1 \2", s)  # "##Heading"
        s = re.sub(r"\s+#+\s*$", "", s) if s.startswith("#") else s  # closing hashes
        out.append(s)
    if table:
        flush_table()
    return "\n".join(out)


def table_rows(rows: list[list[str]]) -> list[str]:
    """Each body row as one line that carries its column headers: `Grantee: Valley Care; County: Fresno`."""
    rows = [[_EMPHASIS.sub(lambda m: m.group(2) or m.group(3), c) for c in r] for r in rows if any(c for c in r)]
    if not rows:
        return []
    if len(rows) == 1:
        return ["; ".join(c for c in rows[0] if c)]
    header, body = rows[0], rows[1:]
    out = [""]
    for r in body:
        cells = []
        for j, cell in enumerate(r):
            if not cell:
                continue
            name = header[j] if j < len(header) else ""
            cells.append(f"{name}: {cell}" if name and name != cell else cell)
        if cells:
            out.append("; ".join(cells))
    return out + [""]


# hard-wrapped text -----------------------------------------------------------------------------------------
_WRAP_MAX = 120  # wider lines are whole paragraphs, not a wrapped column


def unwrap(text: str) -> str:
    """Join the lines of hard-wrapped paragraphs (PDF columns, e-mailed bill text). A text is hard-wrapped when
    many of its lines end just short of one width; a line that reaches that width was broken by the wrapping,
    not by the writer, so the next line continues it unless it opens a list item or a heading."""
    lines = text.split("\n")
    lengths = sorted(len(ln.strip()) for ln in lines if ln.strip())
    if len(lengths) < 4:
        return text
    width = lengths[int(0.9 * (len(lengths) - 1))]
    near = sum(1 for n in lengths if n >= 0.7 * width)
    if width > _WRAP_MAX or width < 30 or near < 0.3 * len(lengths):
        return text
    out: list[str] = []
    for ln in lines:
        prev = out[-1].strip() if out else ""
        s = ln.strip()
        if prev and s and len(prev) >= 0.7 * width and not prev.startswith("#") and not _opens_block(s):
            out[-1] = out[-1].rstrip() + " " + s
        else:
            out.append(ln)
    return "\n".join(out)


def _opens_block(line: str) -> bool:
    """A list item, heading, table row or `Label: value` line starts a block of its own."""
    return bool(re.match(r"^(#{1,6}\s|[-*+•]\s|\d{1,2}[.)]\s|\||[A-Z][^:.!?\n]{0,40}:\s)", line))
