"""Real files for tests: PDFs (reportlab), WebVTT/SRT transcripts, HTML pages, spoken recordings (espeak-ng)."""

from __future__ import annotations

from pathlib import Path

from reportlab.lib import pdfencrypt
from reportlab.pdfgen import canvas

from evals.bench.speech import WEBINAR, convert, make_speech  # noqa: F401  recordings: a webinar spoken by espeak-ng


def make_pdf(path: Path, pages: list[str], password: str | None = None, title: str | None = None) -> Path:
    encrypt = pdfencrypt.StandardEncryption(password, canPrint=0) if password else None
    c = canvas.Canvas(str(path), encrypt=encrypt)
    if title:
        c.setTitle(title)
    for page in pages:
        y = 800
        for line in page.split("\n"):
            c.drawString(72, y, line)
            y -= 16
        c.showPage()
    c.save()
    return path


def make_scanned_pdf(path: Path) -> Path:
    """A PDF whose only page content is drawn shapes: no text layer, like a scan."""
    c = canvas.Canvas(str(path))
    c.rect(72, 600, 300, 150, fill=1)
    c.showPage()
    c.save()
    return path


VTT = """WEBVTT

00:00:01.000 --> 00:00:04.000
<v Ana Lopez>Welcome to the pipeline session of the apprenticeship webinar.

00:00:04.000 --> 00:00:08.000
<v Ana Lopez>Today we cover pre-apprenticeship programs for welders.

00:01:10.500 --> 00:01:15.000
<v Ben Ortiz>Thanks Ana. The Fresno welding cohort placed thirty graduates with union contractors.
"""

SRT = """1
00:00:02,000 --> 00:00:05,000
Maria Chen: Hello and welcome to the transit partnership briefing.

2
00:03:07,000 --> 00:03:11,000
Joe Park: The bus mechanics program trains apprentices at the Oakland yard.
"""

def make_transcript(path: Path, cues: list[str]) -> Path:
    """A WebVTT (`.vtt`) or SRT (`.srt`) file, one cue every five seconds."""
    srt = path.suffix == ".srt"

    def t(s: int) -> str:
        return f"00:{s // 60:02d}:{s % 60:02d}{',' if srt else '.'}000"

    blocks = [f"{i + 1}\n" * srt + f"{t(5 * i)} --> {t(5 * i + 4)}\n{cue}\n" for i, cue in enumerate(cues)]
    path.write_text(("" if srt else "WEBVTT\n\n") + "\n".join(blocks), encoding="utf-8")
    return path


HTML = """<!doctype html><html><head><title>Hospitality Partnership Notes</title>
<style>body { color: red }</style><script>document.write("tracking pixel")</script></head>
<body><nav>Home | About</nav><h1>Hospitality Partnership</h1>
<p>The hotel housekeeping partnership created a ladder from room attendant to supervisor.</p>
<ul><li>Ergonomics training for room attendants</li><li>Supervisor mentoring</li></ul>
<script>var secret = "do not index me";</script></body></html>
"""


REPORT_SRC = """@title: Valley Care Interim Brief
@layout: two-column
@header: Valley Research Center | Brief 3
@footer: Page {page} | valley.example.org
# Findings
1. Retention rose to 82 percent after two years.
2. Wages grew for most graduates.
## Components
- Composition: includes employers and unions
- Commitment: a two-year pledge
| Grantee | County | Amount |
| Valley Care | Fresno | $450,000 |
| Kings Water | Kings | $300,000 |
Of the graduates hired by partner hospitals, 84% were still employed there a year later, compared with 61% for certified nursing assistants hired elsewhere during the same period, according to hospital records.
---page---
# Recommendations
Keep the cohort model.
"""


def make_report_pdf(path: Path) -> Path:
    """A two-column brief with running header and footer, numbered findings, bullets and a table, built by
    the same builder as the wild corpus's PDFs."""
    from evals.wild.pdfsrc import build

    src = path.with_suffix(".pdfsrc")
    src.write_text(REPORT_SRC, encoding="utf-8")
    build(src, path)
    src.unlink()
    return path


# A grant listing with a deadline and a total, but no largest award: a near miss for "the largest award".
LISTING = """Title: Metro Welding Partnership - Round 3 Grant Listing

Metro Welding Partnership: Round 3

Application Deadline: April 4, 2025
Total Funding: $4,200,000
Eligible Applicants: partnerships of at least one employer and one union

The partnership trains welders for union fabrication shops in the county.
"""
