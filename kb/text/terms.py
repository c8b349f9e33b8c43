"""Terms: words, stems (English Snowball, stopwords dropped), and number and ordinal words."""

from __future__ import annotations

import functools
import re

import Stemmer

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

# Function words plus the question scaffolding ("what is", "explain", "tell me about").
STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as into about over under than then
    is are was were be been being am do does did done doing have has had having can could should would
    will shall may might must it its this that these those there their them they we our us you your i me my
    he she his her who whom whose which what when where why how not no nor so too very just also any all
    each every some such own same other more most much many few both either neither one ones s t
    tell explain describe give list name say says said mean means meaning define definition please
    according materials material document documents kind kinds type types way ways thing things
    get got make makes made let lets like well use used using need needs""".split()
)

# "one" is left out: in prose it is nearly always a pronoun ("one of the partners").
NUMBER_WORDS = {w: i for i, w in enumerate("zero _ two three four five six seven eight nine ten eleven twelve thirteen "
                                        "fourteen fifteen sixteen seventeen eighteen nineteen twenty".split()) if w != "_"}
NUMBER_WORDS.update({"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
                  "hundred": 100, "dozen": 12})
# Ordinal words and their positions (-1: the last one).
ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
             "fifth": 5, "5th": 5, "sixth": 6, "6th": 6, "last": -1, "final": -1}


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


@functools.lru_cache(maxsize=1)
def stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def stems(text: str) -> list[str]:
    """Stemmed content words (stopwords dropped), in order."""
    ws = [w for w in words(text) if w not in STOPWORDS and len(w) > 1]
    return stemmer().stemWords(ws)
