"""One loader per format. Each turns a file into `Segment`s that keep their locator (page, timestamp).

A file that cannot be read raises `LoadError` with a reason a person understands; sync records it and goes
on with the other files.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from ingest.manifest import cue_title, name_title
from ingest.pdf import document_text, page_lines
from ingest.structure import lift_metadata, markdown_text, table_rows, unwrap
from kb.errors import LoadError

log = logging.getLogger(__name__)

SUPPORTED = (".txt", ".md", ".markdown", ".pdf", ".html", ".htm", ".vtt", ".srt")
RECORDINGS = (".mp3", ".m4a", ".wav", ".mp4", ".webm", ".ogg", ".flac")  # transcribed first (ingest/audio.py)


@dataclass
class Segment:
    text: str
    page: int | None = None
    timestamp: str | None = None
    speaker: str | None = None


@dataclass
class Loaded:
    segments: list[Segment]
    title: str = ""  # from the file itself (PDF metadata, <title>, first heading, first cue); manifest wins over it
    meta: dict[str, str] = field(default_factory=dict)


STREAM_BYTES = 4 * 1024 * 1024  # text files above this are read in blocks, never whole
_BLOCK_CHARS = 1_000_000


def load(path: Path, max_mb: int = 200) -> Loaded:
    """Read and parse `path` by its extension. Large plain-text files stream as a series of segments."""
    ext = path.suffix.lower()
    if ext not in SUPPORTED:
        raise LoadError(str(path), f"unsupported file type {ext or '(none)'!r}; supported: {', '.join(SUPPORTED + RECORDINGS)}")
    size = _size(path)
    if size == 0:
        raise LoadError(str(path), "the file is empty")
    if ext in (".txt", ".md", ".markdown") and size > STREAM_BYTES:
        return Loaded(_stream_text(path))
    if size > max_mb * 1024 * 1024:
        raise LoadError(str(path), f"the file is {size / 2**20:.0f} MB, over the {max_mb} MB limit for {ext} files")
    data = _read(path)
    if not data.strip():
        raise LoadError(str(path), "the file is empty (only white space)")
    if ext == ".pdf":
        return load_pdf(path, data)
    text = decode_text(path, data)
    if ext in (".html", ".htm"):
        return load_html(text)
    if ext in (".vtt", ".srt"):
        return load_transcript(path, text)
    meta, text = lift_metadata(text)
    text = markdown_text(unwrap(text))
    m = re.search(r"^#\s+(.+)$", text, re.M)
    title = meta.get("title") or (m.group(1).strip() if m and ext in (".md", ".markdown") else "")
    return Loaded([Segment(text)], title=title, meta=meta)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except (OSError, RuntimeError) as exc:
        raise LoadError(str(path), f"cannot read the file ({getattr(exc, 'strerror', None) or exc})") from exc


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise LoadError(str(path), f"cannot read the file ({exc.strerror or exc})") from exc


def _stream_text(path: Path):
    """Segments of about a million characters, cut at paragraph breaks; memory stays bounded."""
    import codecs

    with path.open("rb") as fh:
        first = fh.read(1024 * 1024)
        decoder = codecs.getincrementaldecoder(detect_encoding(path, first))(errors="replace")
        pending = decoder.decode(first)
        while True:
            block = fh.read(1024 * 1024)
            pending += decoder.decode(block, final=not block)
            while len(pending) > _BLOCK_CHARS or (not block and pending):
                cut = len(pending) if not block and len(pending) <= _BLOCK_CHARS else _cut_point(pending)
                piece, pending = pending[:cut], pending[cut:]
                if piece.strip():
                    yield Segment(piece)
            if not block:
                return


def _cut_point(text: str) -> int:
    for sep in ("\n\n", "\n", ". ", " "):
        i = text.rfind(sep, 0, _BLOCK_CHARS)
        if i > _BLOCK_CHARS // 2:
            return i + len(sep)
    return _BLOCK_CHARS


# text and encodings ---------------------------------------------------------------------------------------
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def decode_text(path: Path, data: bytes) -> str:
    return _check_text(path, data.decode(detect_encoding(path, data), errors="replace"))


def detect_encoding(path: Path, sample: bytes) -> str:
    """By BOM, then strict UTF-8, then Windows-1252 for mostly-ASCII text, then charset-normalizer;
    refuses binary data. `sample` may be the start of a longer file."""
    for bom, enc in _BOMS:
        if sample.startswith(bom):
            return enc
    head = sample[:200_000]
    try:
        _check_text(path, head.decode("utf-8"))
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a character cut by the sample's end
            return "utf-8"
    # English guidance that is not UTF-8 is nearly always Windows-1252/Latin-1; on short mostly-ASCII text,
    # charset-normalizer's guess among single-byte codepages is a coin toss (it picked cp1250: "Cafť").
    if sum(b > 127 for b in head) < 0.05 * len(head) and b"\x00" not in head[:4096]:
        try:
            _check_text(path, head.decode("cp1252"))
            return "cp1252"
        except UnicodeDecodeError:
            _check_text(path, head.decode("latin-1"))
            return "latin-1"
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    if best is None or best.encoding is None:
        raise LoadError(str(path), "not a text file (binary data, or an encoding that could not be detected)")
    log.info("%s: decoded as %s", path, best.encoding)
    _check_text(path, head.decode(best.encoding, errors="replace"))
    return best.encoding


def _check_text(path: Path, text: str) -> str:
    sample = text[:20000]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f")
    if sample and (controls / len(sample) > 0.01 or "\ufffd" * 4 in sample):
        raise LoadError(str(path), "not a text file (it contains binary data)")
    return text


# PDF --------------------------------------------------------------------------------------------------------
def load_pdf(path: Path, data: bytes) -> Loaded:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings about damaged xrefs are not ours to show
    if not data.lstrip().startswith(b"%PDF"):
        raise LoadError(str(path), "not a PDF (the file does not start with %PDF); is the extension wrong?")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except Exception:
                ok = 0
            if not ok:
                raise LoadError(str(path), "the PDF is encrypted (password protected); save an unprotected copy and ingest that")
        texts = document_text([page_lines(page) for page in reader.pages])
        pages = [Segment(text, page=i + 1) for i, text in enumerate(texts)]
        title = str((reader.metadata or {}).get("/Title") or "").strip()
        title = "" if title.lower() in {"untitled", "anonymous", "microsoft word"} else title
    except LoadError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError, RecursionError) as exc:
        raise LoadError(str(path), f"the PDF is damaged or truncated and could not be read ({exc.__class__.__name__})") from exc
    if not any(p.text.strip() for p in pages):
        raise LoadError(str(path), "the PDF has no text layer (a scan?); run OCR on it first (for example with ocrmypdf)")
    return Loaded(pages, title=title)


# HTML -------------------------------------------------------------------------------------------------------
_SKIP = {"script", "style", "noscript", "template", "svg", "head", "nav", "footer", "iframe", "form", "button",
         "aside", "select", "object", "canvas", "dialog"}
_VOID = {"br", "img", "hr", "input", "meta", "link", "area", "base", "col", "embed", "source", "track", "wbr", "param"}
_BLOCK = {"p", "div", "section", "article", "main", "header", "table", "ul", "ol", "blockquote", "pre", "dl",
          "figure", "figcaption", "address", "details", "summary"}
# Site furniture, named by role, id, class or label on real pages: menus, cookie notices, breadcrumbs, sharing.
_BOILERPLATE = re.compile(r"cookie|consent|gdpr|breadcrumb|navbar|\bnav\b|menu|sidebar|share|social|skip|subscribe|"
                          r"newsletter|modal|popup|advert|\bads?\b|promo|footer|masthead|site-header|banner", re.I)
_MAIN = re.compile(r"<(main|article)\b|role=[\"']main[\"']", re.I)


class _HTMLText(HTMLParser):
    """Visible text in the structure conventions of ingest/structure.py: `#` headings, `•`/`1.` items, table
    rows with their headers, `term: definition` lines. Site furniture is skipped; when the page marks its
    content (`<main>`, `<article>`, role=main) only that is read."""

    def __init__(self, main_only: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.title = ""
        self._in_title = False
        self._stack: list[tuple[str, bool]] = []  # (tag, opens a skipped region)
        self._skip = 0
        self._main_depth = 0 if main_only else 1
        self._lists: list[list] = []  # ["ul"|"ol", counter]
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self._in_title = True
            return
        if tag in _VOID:
            if tag == "br" and not self._skip:
                self._emit("\n")
            return
        a = dict(attrs)
        label = " ".join(str(a.get(k) or "") for k in ("id", "class", "role", "aria-label"))
        is_main = tag in ("main", "article") or a.get("role") == "main"
        skip = tag in _SKIP or (bool(label.strip()) and not is_main and bool(_BOILERPLATE.search(label))) or \
            (tag == "header" and self._main_depth == 0)
        self._stack.append((tag, skip))
        self._skip += skip
        if is_main:
            self._main_depth += 1
        if re.fullmatch(r"h[1-6]", tag):
            self._emit("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in ("ul", "ol"):
            self._lists.append([tag, 0])
            self._emit("\n")
        elif tag == "li":
            kind = self._lists[-1] if self._lists else ["ul", 0]
            kind[1] += 1
            self._emit(f"\n{kind[1]}. " if kind[0] == "ol" else "\n• ")
        elif tag == "table":
            self._table = []
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        elif tag == "dt":
            self._emit("\n")
        elif tag == "dd":
            self._emit(": ")
        elif tag in _BLOCK or tag in ("p", "tr"):
            self._emit("\n\n")

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
            return
        if not any(t == tag for t, _ in self._stack):
            return  # a stray end tag
        while self._stack:
            t, skip = self._stack.pop()
            self._skip -= skip
            if t in ("main", "article"):
                self._main_depth -= 1
            self._close(t)
            if t == tag:
                break

    def _close(self, tag: str) -> None:
        if tag in ("td", "th") and self._table is not None and self._cell is not None:
            if self._table:
                self._table[-1].append(re.sub(r"\s+", " ", "".join(self._cell)).strip())
            self._cell = None
        elif tag == "table" and self._table is not None:
            rows, self._table = self._table, None
            self._emit("\n\n" + "\n".join(table_rows(rows)) + "\n\n")
        elif tag in ("ul", "ol") and self._lists:
            self._lists.pop()
            self._emit("\n\n")
        elif re.fullmatch(r"h[1-6]", tag) or tag in _BLOCK or tag in ("p", "dd"):
            self._emit("\n\n" if tag != "dd" else "\n")

    def _emit(self, text: str) -> None:
        if self._skip or self._main_depth <= 0:
            return
        if self._cell is not None:
            self._cell.append(" " if "\n" in text else text)
        else:
            self.out.append(text)

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        else:
            self._emit(re.sub(r"\s+", " ", data))


def load_html(text: str) -> Loaded:
    parser = _HTMLText(main_only=bool(_MAIN.search(text)))
    parser.feed(text)
    parser.close()
    body = re.sub(r"[ \t]*\n[ \t]*", "\n", "".join(parser.out))
    meta, body = lift_metadata(body)
    body = markdown_text(body)
    m = re.search(r"^# (.+)$", body, re.M)
    title = meta.get("title") or re.sub(r"\s+", " ", parser.title).strip() or (m.group(1).strip() if m else "")
    return Loaded([Segment(body)], title=title, meta=meta)


# transcripts ------------------------------------------------------------------------------------------------
_TIME = re.compile(r"(?:(\d{1,2}):)?(\d{1,2}):(\d{2})[.,](\d{1,3})\s*-->\s*(?:(\d{1,2}):)?(\d{1,2}):(\d{2})[.,](\d{1,3})")
_VOICE = re.compile(r"^<v(?:\.[^ >]*)?\s+([^>]+)>")
_LABEL = re.compile(r"^([A-Z][\w.'-]*(?: [A-Z][\w.'-]*){0,3}):\s+")
_TAGS = re.compile(r"</?[^>]+>")


@dataclass
class Cue:
    start: float  # seconds
    text: str
    speaker: str | None = None
    end: float | None = None

    @property
    def stamp(self) -> str:
        h, rest = divmod(int(self.start), 3600)
        return f"{h:02d}:{rest // 60:02d}:{rest % 60:02d}"


def parse_cues(path: Path, text: str) -> list[Cue]:
    """The cues of a WebVTT or SRT text, tags removed, each with its start and speaker (a `<v Name>` voice or
    a `Name:` label); a cue with a broken time line is skipped with a warning."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    cues: list[Cue] = []
    bad = 0
    for block in re.split(r"\n\s*\n", text):
        lines = [ln.strip() for ln in block.strip().split("\n") if ln.strip()]
        idx = next((i for i, ln in enumerate(lines) if "-->" in ln), None)
        if idx is None:
            continue  # WEBVTT header, NOTE and STYLE blocks, SRT garbage between cues
        m = _TIME.search(lines[idx])
        if not m or int(m.group(2)) > 59 or int(m.group(3)) > 59:
            bad += 1
            continue
        start, end = (int(g[0] or 0) * 3600 + int(g[1]) * 60 + int(g[2]) + int(g[3].ljust(3, "0")) / 1000
                      for g in (m.groups()[:4], m.groups()[4:]))
        speaker, parts = None, []
        for ln in lines[idx + 1 :]:
            v = _VOICE.match(ln) or _LABEL.match(ln)
            if v and speaker is None:
                speaker = v.group(1).strip()
                ln = ln[v.end() :]
            parts.append(_TAGS.sub("", ln).strip())
        cue = " ".join(p for p in parts if p)
        if cue:
            cues.append(Cue(start, cue, speaker, end))
    if not cues:
        why = f"{bad} cue(s) have broken timestamps" if bad else "no cues found"
        raise LoadError(str(path), f"not a usable transcript: {why} (expected lines like 00:01:02.000 --> 00:01:05.000)")
    if bad:
        log.warning("%s: skipped %d cue(s) with broken timestamps", path, bad)
    return cues


def load_transcript(path: Path, text: str) -> Loaded:
    """WebVTT or SRT cues merged into speaker turns; each turn keeps its start time and speaker. The title is
    the first cue's words (the file name when they are only noise)."""
    turns: list[Segment] = []
    cues = parse_cues(path, text)
    for cue in cues:
        if turns and cue.speaker in (None, turns[-1].speaker) and len(turns[-1].text) < 1200:
            turns[-1].text += " " + cue.text
        else:
            speaker = cue.speaker or (turns[-1].speaker if turns else None)
            turns.append(Segment(cue.text, timestamp=cue.stamp, speaker=speaker))
    return Loaded(turns, title=cue_title(cues[0].text) or name_title(path))
