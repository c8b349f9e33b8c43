"""Repair extraction damage and drop debris, without losing content. `clean(clean(x)) == clean(x)`.

Repairs: split acronyms (`H RTP` -> `HRTP` when the joined form occurs in the same document), hyphenation
across line ends, curly quotes and dashes, odd bullets and indentation, blank runs.
Debris dropped: placeholder links (`[Watch the video](...)`), footnote markers (`[^1^]`), footnote source
lines (`[^1^]: Source 1 Title – ...`), widget error lines (`GIPHY App Key not set...`), a `Sources:` line left
with nothing under it.
"""

from __future__ import annotations

import re
import unicodedata

_TRANSLATE = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
    "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u200b": "", "\ufeff": "", "\u00ad": "",
    "\t": " ",
})
# str.splitlines() breaks lines at all of these; the steps below only know "\n".
_LINE_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# Every other character str.strip() would remove becomes a plain space, so stripping a line never uncovers
# a new line end (which made `clean` not idempotent on "0\n\x85a").
_ODD_SPACE = re.compile(r"[^\S \n]")
_BULLET = re.compile(r"^[ \t]*(?:[•◦▪▫■□●○‣⁃∙·\x7f]|[-*+](?=\s))[ \t]*", re.M)
_FOOTNOTE_DEF = re.compile(r"^\s*\[\^?\w+\^?\]:.*$", re.M)
_FOOTNOTE_REF = re.compile(r"\[\^\w+\^?\]")
_PLACEHOLDER_SOURCE = re.compile(r"^\s*Source \d+ Title\b.*$", re.M)
_LINK_ONLY = re.compile(r"^\s*\[[^\]\n]*\]\([^)\n]*\)\s*$", re.M)
_LINK = re.compile(r"\[([^\]\n]+)\]\((?:https?://|www\.)[^)\n]*\)")
_WIDGET = re.compile(
    r"^.*(?:App Key not set|Please check settings$|enable JavaScript|browser does not support|"
    r"Loading\.\.\.$|Cookie settings|Accept all cookies).*$", re.M | re.I
)
_SOURCES_HEADER = re.compile(r"^[ \t]*(?:Sources?|References?|Footnotes?|Notes):?[ \t]*\n(?=[ \t]*\[\^?\w+\^?\]:)", re.M | re.I)
_ORPHAN_SOURCES = re.compile(r"^[ \t]*(?:Sources?|References?|Footnotes?):?[ \t]*\Z", re.M | re.I)
_HYPHEN_BREAK = re.compile(r"(\w)-\n(?=[a-z])")
_SOFT_WRAP = re.compile(r"(?<=[^\s.!?:;])[ \t]*\n(?=[ \t]*[a-z(])")  # a PDF line break inside a sentence
_SPLIT_ACRONYM = re.compile(r"\b([A-Z]) ([A-Z]{2,5})\b")
_MAX_PASSES = 8  # a fixpoint is normally reached in two passes


def clean(text: str) -> str:
    """Repeat the rewrite until nothing changes. One pass can expose debris for another rule (unwrapping
    `[[Watch](https://x)]:` leaves a footnote definition; dropping `[^1^]` from `[a[^1^]](url)` makes a link),
    so idempotence comes from the fixpoint, not from ordering the rules. Every rule shortens or normalises
    the text, so a second pass almost always confirms the first."""
    for _ in range(_MAX_PASSES):
        cleaned = _clean_once(text)
        if cleaned == text:
            break
        text = cleaned
    return text


def _clean_once(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _spaced_dashes(text).translate(_TRANSLATE)
    text = _ODD_SPACE.sub(" ", _LINE_BREAKS.sub("\n", text))
    text = _SOURCES_HEADER.sub("", text)
    text = _FOOTNOTE_DEF.sub("", text)
    text = _PLACEHOLDER_SOURCE.sub("", text)
    text = _FOOTNOTE_REF.sub("", text)
    text = _LINK_ONLY.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _WIDGET.sub("", text)
    text = _HYPHEN_BREAK.sub(r"\1", text)
    text = _SOFT_WRAP.sub(" ", text)
    text = _join_split_acronyms(text)
    text = _BULLET.sub("• ", text)
    text = "\n".join(re.sub(r" {2,}", " ", line).strip() for line in text.split("\n"))
    while (stripped := _ORPHAN_SOURCES.sub("", text.rstrip())) != text:  # "Sources:\nSources:" at the end
        text = stripped
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def _spaced_dashes(text: str) -> str:
    """An en/em dash used as punctuation becomes ' - ' so the words on each side stay apart."""
    return re.sub(r"\s*[\u2013\u2014]\s*", lambda m: " - " if (" " in m.group(0) or "\u2014" in m.group(0)) else "-", text)


def _join_split_acronyms(text: str) -> str:
    def join(m: re.Match) -> str:
        joined = m.group(1) + m.group(2)
        return joined if re.search(rf"\b{joined}", text) else m.group(0)  # HRTPs vouches for HRTP

    return _SPLIT_ACRONYM.sub(join, text)
