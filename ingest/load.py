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

from kb.errors import LoadError

log = logging.getLogger(__name__)

SUPPORTED = (".txt", ".md", ".markdown", ".pdf", ".html", ".htm", ".vtt", ".srt")


@dataclass
class Segment:
    text: str
    page: int | None = None
    timestamp: str | None = None
    speaker: str | None = None


@dataclass
class Loaded:
    segments: list[Segment]
    title: str = ""  # from the file itself (PDF metadata, <title>, first heading); manifest wins over it
    meta: dict[str, str] = field(default_factory=dict)


STREAM_BYTES = 4 * 1024 * 1024  # text files above this are read in blocks, never whole
_BLOCK_CHARS = 1_000_000


def load(path: Path, max_mb: int = 200) -> Loaded:
    """Read and parse `path` by its extension. Large plain-text files stream as a series of segments."""
    ext = path.suffix.lower()
    if ext not in SUPPORTED:
        raise LoadError(str(path), f"unsupported file type {ext or '(none)'!r}; supported: {', '.join(SUPPORTED)}")
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
    title = ""
    m = re.search(r"^#\s+(.+)$", text, re.M) if ext in (".md", ".markdown") else None
    if m:
        title = m.group(1).strip()
    return Loaded([Segment(text)], title=title)


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
        pages = [Segment(page.extract_text() or "", page=i + 1) for i, page in enumerate(reader.pages)]
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
_SKIP = {"script", "style", "noscript", "template", "svg", "head", "nav", "footer", "iframe", "form", "button"}
_BLOCK = {"p", "div", "section", "article", "main", "header", "br", "tr", "table", "ul", "ol", "blockquote",
          "pre", "dl", "dt", "dd", "figure", "figcaption", "hr"}


class _HTMLText(HTMLParser):
    """Visible text only, with headings as Markdown `#` lines and list items as bullets."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self.skip += 1
        elif tag == "title":
            self._in_title = True
        elif re.fullmatch(r"h[1-6]", tag):
            self.out.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag == "li":
            self.out.append("\n• ")
        elif tag in _BLOCK:
            self.out.append("\n\n")

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "title":
            self._in_title = False
        elif re.fullmatch(r"h[1-6]", tag) or tag in _BLOCK:
            self.out.append("\n\n")

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        elif not self.skip:
            self.out.append(re.sub(r"\s+", " ", data))


def load_html(text: str) -> Loaded:
    parser = _HTMLText()
    parser.feed(text)
    parser.close()
    body = re.sub(r"[ \t]*\n[ \t]*", "\n", "".join(parser.out))
    m = re.search(r"^# (.+)$", body, re.M)
    title = parser.title.strip() or (m.group(1).strip() if m else "")
    return Loaded([Segment(body)], title=title)


# transcripts ------------------------------------------------------------------------------------------------
_TIME = re.compile(r"(?:(\d{1,2}):)?(\d{1,2}):(\d{2})[.,](\d{1,3})\s*-->\s*(?:(\d{1,2}):)?(\d{1,2}):(\d{2})[.,](\d{1,3})")
_VOICE = re.compile(r"^<v(?:\.[^ >]*)?\s+([^>]+)>")
_LABEL = re.compile(r"^([A-Z][\w.'-]*(?: [A-Z][\w.'-]*){0,3}):\s+")
_TAGS = re.compile(r"</?[^>]+>")


def load_transcript(path: Path, text: str) -> Loaded:
    """WebVTT or SRT cues merged into speaker turns; each turn keeps its start time and speaker."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    turns: list[Segment] = []
    bad = 0
    for block in re.split(r"\n\s*\n", text):
        lines = [ln.strip() for ln in block.strip().split("\n") if ln.strip()]
        idx = next((i for i, ln in enumerate(lines) if "-->" in ln), None)
        if idx is None:
            continue  # WEBVTT header, NOTE and STYLE blocks, SRT garbage between cues
        m = _TIME.search(lines[idx])
        if not m:
            bad += 1
            continue
        h, mi, s = int(m.group(1) or 0), int(m.group(2)), int(m.group(3))
        if mi > 59 or s > 59:
            bad += 1
            continue
        stamp = f"{h:02d}:{mi:02d}:{s:02d}"
        speaker, parts = None, []
        for ln in lines[idx + 1 :]:
            v = _VOICE.match(ln) or _LABEL.match(ln)
            if v and speaker is None:
                speaker = v.group(1).strip()
                ln = ln[v.end() :]
            parts.append(_TAGS.sub("", ln).strip())
        cue = " ".join(p for p in parts if p)
        if not cue:
            continue
        if turns and speaker in (None, turns[-1].speaker) and len(turns[-1].text) < 1200:
            turns[-1].text += " " + cue
        else:
            turns.append(Segment(cue, timestamp=stamp, speaker=speaker or (turns[-1].speaker if turns else None)))
    if not turns:
        why = f"{bad} cue(s) have broken timestamps" if bad else "no cues found"
        raise LoadError(str(path), f"not a usable transcript: {why} (expected lines like 00:01:02.000 --> 00:01:05.000)")
    if bad:
        log.warning("%s: skipped %d cue(s) with broken timestamps", path, bad)
    return Loaded(turns)
