"""What a question asks for: its specific terms, the kind of fact it wants, and what a follow-up refers to.

Plausible questions the materials cannot answer (an amount, a deadline, a named person) retrieve
passages as "similar" as answerable ones, so similarity alone cannot refuse them. The answerer therefore
checks the evidence for what the question asks for: `Facet`s name those demands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kb.text.terms import ORDINALS, stems

_ORDINAL_RE = re.compile(r"\b(" + "|".join(ORDINALS) + r")\b(?:\s+(?:one|item|point|principle|element|component|"
                         r"strategy|part|of (?:them|those|these)))?", re.I)
_ANAPHORA = re.compile(r"\b(it|its|that|this|they|them|their|those|these|he|she|him|her|there|ones?)\b|"
                       r"^(and|but|so|also|what about|how about|why|how so|more|elaborate|explain|tell me more)\b", re.I)
_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+(.+)$", re.M)
_CITE = re.compile(r"\s*\[\d+\]")


@dataclass(frozen=True)
class Facet:
    """A kind of fact the evidence must contain: `entity` must match the quoted sentence, and when the
    question names the thing itself (`nouns`, e.g. "deadline"), one of those words must be quoted too."""

    name: str
    entity: re.Pattern
    nouns: frozenset[str] = frozenset()


# "one" is left out: in prose it is nearly always a pronoun ("an economy - one that competes ...").
_NUMBER = re.compile(r"\$\s?\d|\b\d[\d,.]*\b|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                     r"(?:thir|four|fif|six|seven|eigh|nine)teen|(?:twen|thir|for|fif|six|seven|eigh|nine)ty|dozens?|"
                     r"hundreds?|thousands?|millions?|billions?|percent)\b", re.I)
_DATE = re.compile(r"\b(?:1[89]\d\d|20\d\d)\b|\b(?:January|February|March|April|May|June|July|August|September|"
                   r"October|November|December)\b", re.I)
_NAME = re.compile(r"(?<![.!?:]\s)(?<!^)\b[A-Z][a-z]+ (?:[A-Z]\. )?[A-Z][a-z]+\b")
_CONTACT = re.compile(r"@|https?://|www\.|\(\d{3}\)|\b\d{3}[-.]\d{3}[-.]\d{4}\b")

_MONEY_NOUNS = frozenset(stems("amount budget cost costs funding fund grant grants salary salaries wage wages pay "
                               "dollars fee fees price award awards stipend"))
# "Who funds HRTPs?" asks for a funder, not an amount; these alone do not make an amount question.
_FUNDING_WORDS = frozenset(stems("fund funding funded grant grants award awards"))
_DATE_NOUNS = frozenset(stems("deadline deadlines due date dates"))
_ROLE_NOUNS = frozenset(stems("director chair chairperson president ceo founder leader head manager coordinator "
                              "secretary governor officer commissioner executive staff contact speaker presenter "
                              "host moderator name"))
_CONTACT_NOUNS = frozenset(stems("email phone telephone address website url contact"))


@dataclass(frozen=True)
class QuestionInfo:
    text: str
    specific: frozenset[str]  # content stems minus the words every passage shares (`Domain.shared`)
    facets: tuple[Facet, ...] = ()
    is_list: bool = False
    focus: str | None = None  # the list item a follow-up points at ("the second one")
    retrieval_query: str = ""
    terms: tuple[str, ...] = field(default=())


def facets_of(question: str) -> tuple[Facet, ...]:
    q = question.lower()
    qs = set(stems(question))
    money = qs & _MONEY_NOUNS
    out = []
    if re.search(r"\bhow (much|large|big)\b", q) or money - _FUNDING_WORDS:
        out.append(Facet("amount", _NUMBER, frozenset(money)))
    elif re.search(r"\bhow many\b|\bwhat (percentage|percent|share|proportion|number)\b", q):
        out.append(Facet("count", _NUMBER))
    asks_when = re.search(r"^\W*when\b|\bwhen (did|was|were|is|are|will|does|do|should|can|must)\b", q)
    date_nouns = set(stems(re.sub(r"\b(?:to|up to) date\b", " ", q)))  & _DATE_NOUNS  # "graduates to date" asks a count
    if asks_when or re.search(r"\bwhat (year|date|month|day)\b", q) or date_nouns:
        out.append(Facet("date", _DATE, frozenset(date_nouns)))
    if qs & _ROLE_NOUNS and re.search(r"\bwho\b|\bname\b|\bnamed\b|\bcalled\b", q):
        out.append(Facet("person", _NAME, frozenset(qs & _ROLE_NOUNS - set(stems("name")))))
    if qs & _CONTACT_NOUNS and not re.search(r"\bcontact (between|with)\b", q):
        out.append(Facet("contact", _CONTACT, frozenset(qs & _CONTACT_NOUNS)))
    return tuple(out)


def is_list_question(question: str) -> bool:
    q = question.lower().strip()
    return bool(
        re.match(r"^(list|name|enumerate|what are|which are|what were|who are)\b", q)
        or re.search(r"\b(two|three|four|five|six|seven|\d+)\s+\w+", q)
        or re.search(r"\b(principles|components|elements|strategies|steps|benefits|activities|pillars|goals)\b", q)
    )


def list_items(text: str) -> list[str]:
    """Items of a list in an earlier answer, without their citation markers."""
    return [_CITE.sub("", m.group(1)).strip() for m in _LIST_ITEM.finditer(text)]


def ordinal_of(question: str) -> int | None:
    m = _ORDINAL_RE.search(question)
    return ORDINALS[m.group(1).lower()] if m else None


def is_follow_up(question: str, shared: frozenset[str]) -> bool:
    """`shared`: the words every passage shares (`Domain.shared`), which say nothing on their own."""
    content = [s for s in stems(question) if s not in shared]
    return bool(_ANAPHORA.search(question.strip())) or len(content) <= 1 or ordinal_of(question) is not None


def last_turn(history: list[dict], role: str) -> str:
    for turn in reversed(history or []):
        if turn.get("role") == role and isinstance(turn.get("content"), str):
            return turn["content"]
    return ""


def analyse(question: str, shared: frozenset[str], history: list[dict] | None = None,
            focus: str | None = None) -> QuestionInfo:
    """The retrieval query and the demands of `question`, with a follow-up read against `history`; `shared`:
    the words every passage shares (`Domain.shared`), left out of its specific terms."""
    query = question
    if history and focus is None and is_follow_up(question, shared):
        query = f"{last_turn(history, 'user')} {question}".strip()
    if focus:
        query = f"{focus} {_ORDINAL_RE.sub('', question)}".strip()
    scope = focus or question
    terms = tuple(dict.fromkeys(stems(scope)))
    return QuestionInfo(
        text=question,
        specific=frozenset(t for t in terms if t not in shared),
        facets=facets_of(question),
        is_list=is_list_question(question) and focus is None,
        focus=focus,
        retrieval_query=query,
        terms=terms,
    )
