"""The line grammar every format is brought to by ingest/ (`#` headings, `•` or `1.` items, `Label: value`
lines, paragraph lines), read here for chunking (ingest/chunk.py) and quoting (kb/text/units.py)."""

from __future__ import annotations

import re

MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*$")
ITEM = re.compile(r"^(?:•|\d{1,2}[.)])\s+")
# "Application Deadline: March 14, 2025", "Successful Graduates (To Date): 347", "Grantee: X; County: Y".
_KV = re.compile(r"^([A-Z0-9][^:.!?\n]{0,58}?)\s*:\s+\S")
_KV_MAX_WORDS = 40


def heading_level(lines: list[str], i: int) -> int:
    """0, or the level of line `i` as a heading: Markdown `#`, an ALL-CAPS line, or a short title-like line
    standing alone between blank lines with text after it."""
    line = lines[i].strip()
    if not line:
        return 0
    m = MD_HEADING.match(line)
    if m:
        return len(m.group(1))
    n_words = len(line.split())
    if n_words > 12 or line[-1] in ".,;:!" or ITEM.match(line) or is_key_value(line):
        return 0
    letters = [c for c in line if c.isalpha()]
    if len(letters) >= 3 and all(c.isupper() for c in letters):
        return 1
    alone = (i == 0 or not lines[i - 1].strip()) and (i + 1 < len(lines) and not lines[i + 1].strip())
    has_body = any(ln.strip() for ln in lines[i + 1 :])
    if alone and has_body and line[0].isupper() and n_words <= 10:
        return 2
    return 0


def heading_text(line: str) -> str:
    m = MD_HEADING.match(line.strip())
    return m.group(2) if m else line.strip()


def is_item(line: str) -> bool:
    return bool(ITEM.match(line.strip()))


def is_key_value(line: str) -> bool:
    s = line.strip()
    m = _KV.match(s)
    return bool(m) and len(m.group(1).split()) <= 7 and len(s.split()) <= _KV_MAX_WORDS


def line_kind(lines: list[str], i: int) -> str:
    """"heading" | "item" | "kv" | "para" | "" (blank) for line `i`."""
    s = lines[i].strip()
    if not s:
        return ""
    if heading_level(lines, i):
        return "heading"
    if is_item(s):
        return "item"
    if is_key_value(s):
        return "kv"
    return "para"
