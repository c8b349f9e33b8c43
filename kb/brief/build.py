"""Session briefs for trainers: per topic, key points with [n] citations, passages to read aloud verbatim,
and discussion prompts for the room. `build_brief` is the one code path of `hrtp brief` and the chat's
"Prepare a session" tab; kb/brief/render.py writes a `Brief` as Markdown or printable HTML.

    topic ─▶ retrieve ─▶ on topic? ─▶ key points (the configured reader) ─▶ verifier ─▶ >= 3 kept?
                                                                          └─▶ read-aloud (most cited passages)
                                                                          └─▶ prompts (figures and names checked)

Key points come from the same reader and the same verification as answers: the extractive reader quotes
units of the passages, chosen by maximal marginal relevance so they do not repeat each other; the llm
reader condenses (greedy decoding) and keeps only what `Verifier.check` keeps. A topic the materials don't
cover says so instead of padding.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from kb.ask.claims import Claim, parse
from kb.domain import Domain
from kb.errors import EmptyStoreError
from kb.ask.question import analyse
from kb.ask.readers.extractive import unit_score
from kb.text.terms import stems
from kb.types import Passage, Source
from kb.ask.readers.prompts import fit_passages, heading
from kb.brief.model import Brief, Near, Point, Prompt, ReadAloud, Topic
from kb.brief.points import WholeList, not_a_claim, restates, whole_list
from kb.text.units import Unit, units
from kb.ask.verify import Evidence, names, numbers

log = logging.getLogger(__name__)

MIN_POINTS, MAX_POINTS = 3, 6
PASSAGES_PER_TOPIC = 8
MMR_LAMBDA = 0.7  # relevance vs. novelty when picking key points
NEAR_DUPLICATE = 0.85  # a unit this similar to a picked one says the same thing again
MAX_TOPIC_CHARS = 200
NOT_COVERED = "The materials here don't cover {topic}."
CLOSEST = 3  # passages an uncovered topic lists

Progress = Callable[[float, int, str], None]  # (topics done, may be fractional; topics in all; what now)


# building -------------------------------------------------------------------------------------------------
def clean_topics(topics: list[str] | tuple[str, ...] | None, defaults: tuple[str, ...] = ()) -> list[str]:
    """Free-text topics, trimmed and deduplicated; none given means `defaults` (the domain's default topics,
    `Domain.default_topics`)."""
    out: dict[str, str] = {}
    for t in topics or ():
        t = " ".join(str(t).split())[:MAX_TOPIC_CHARS]
        if t:
            out.setdefault(t.lower(), t)
    return list(out.values()) or list(defaults)


def build_brief(kb, topics: list[str] | tuple[str, ...] | None = None, progress: Progress | None = None, *,
                docs: list[str] | None = None, on_topic: Callable[[int, Topic], None] | None = None) -> Brief:
    """A brief on `topics` (default: the domain's topics, corpus/domain.toml) from the store of `kb`, drawn from `docs` (titles
    or paths, see `KnowledgeBase.resolve_docs`; default all). `progress` hears how far the work is, `on_topic`
    receives each topic as soon as it is done."""
    if kb.store.count() == 0:
        raise EmptyStoreError(kb.store.location)
    sources = kb.resolve_docs(docs) if docs else None
    domain = kb.settings.domain
    topics = clean_topics(topics, domain.default_topics)
    report = progress or (lambda done, total, desc: None)
    registry = _Sources()
    out = []
    for i, title in enumerate(topics):
        report(i, len(topics), f"{title}: retrieving")
        step = lambda f, d: report(i + f, len(topics), f"{title}: {d}")  # noqa: E731 (bound per topic)
        out.append(_TopicBuilder(kb, title, registry, step, sources).build())
        report(i + 1, len(topics), f"{title}: done")
        if on_topic:
            on_topic(i, out[-1])
    records = kb.store.file_records() if sources else {}
    return Brief(out, registry.sources(), kb.reader.name, domain.brief_title, docs=sources or [],
                 doc_titles=[records[p].title for p in sources or [] if p in records])


class _Sources:
    """Source numbers for the whole brief, in order of first citation."""

    def __init__(self) -> None:
        self.passages: dict[str, Passage] = {}
        self.quotes: dict[str, list[str]] = {}

    def number(self, p: Passage, quotes: list[str] = ()) -> int:
        cid = p.chunk.id
        if cid not in self.passages:
            self.passages[cid], self.quotes[cid] = p, []
        self.quotes[cid] += [q for q in quotes if q not in self.quotes[cid]]
        return list(self.passages).index(cid) + 1

    def sources(self) -> list[Source]:
        return [Source.from_passage(n, p, self.quotes[cid]) for n, (cid, p) in enumerate(self.passages.items(), 1)]


@dataclass
class _Candidate:
    p: int  # index into the topic's passages
    unit: Unit
    cos: float
    lex: float
    score: float
    lead_in: str = ""  # a list item's lead-in line


class _TopicBuilder:
    def __init__(self, kb, title: str, registry: _Sources, step: Callable[[float, str], None],
                 sources: list[str] | None = None) -> None:
        self.kb, self.title, self.registry, self.step, self.sources = kb, title, registry, step, sources
        self.settings = kb.settings
        domain = kb.settings.domain
        queries = domain.topic_queries
        self.query = queries.get(title, title)
        self.question = queries.get(title, f"What do the materials say about {title}?")
        self.asked = analyse(self.question, domain.shared)
        named = analyse(title, domain.shared)
        self.terms = sorted(named.specific or set(named.terms))
        self.agenda = _agenda_terms(domain)

    def build(self) -> Topic:
        qvec = self.kb.embedder.embed_query(self.query)
        passages, _ = self.kb.retriever.search(self.query, k=max(PASSAGES_PER_TOPIC, self.settings.top_k), qvec=qvec,
                                               sources=self.sources)
        self.step(0.1, "reading")
        cands = self._candidates(qvec, passages)
        reason = self._off_topic(passages, cands)
        if reason:
            log.info("brief: %r not covered: %s", self.title, reason)
            return self._not_covered(reason, passages)
        listed = whole_list(passages, self.terms, self.settings.min_support, self.kb.store)
        have = len(listed.items) if listed else 0  # a whole list is one point, but says as much as its items

        reader = self.kb.reader
        claims, reader_name = [], reader.name
        # A model reader writes the points (a whole list that covers the topic needs no model).
        model = reader.llm is not None and have < MIN_POINTS
        if model:
            claims = self._verified(self._llm_points(reader, qvec, passages), passages, listed)
            if len(claims) + have < MIN_POINTS:
                log.info("brief: %r: the model's points did not hold up (%d kept); quoting", self.title, len(claims))
        if not model or len(claims) + have < MIN_POINTS:
            claims = self._verified(self._extractive_points(cands, passages, listed), passages, listed)
            reader_name = "extractive"
        if len(claims) + have < MIN_POINTS:
            return self._not_covered(f"only {len(claims) + have} verified point(s)", passages)
        self.step(0.9, "prompts")
        return self._topic(claims, passages, reader_name, listed)

    # which units speak to the topic ---------------------------------------------------------------------
    def _candidates(self, qvec: np.ndarray, passages: list[Passage]) -> list[_Candidate]:
        """Units that speak to the topic: they hold its specific terms (with their section, and a list item
        with its lead-in line), or are very close to it in meaning, or hold what it asks for (a date for a
        "when" topic) while close to it; and the sentence right after such a unit in its paragraph, which
        carries its thought on ("These partnerships aimed ...")."""
        raw = []
        for i, p in enumerate(passages):
            us = units(p.chunk.text)
            for j, u in enumerate(us):
                if u.quotable and _is_statement(u) and not _is_agenda(u.text, self.agenda):
                    raw.append((i, u, _lead_in(u, us), us[j - 1] if j and us[j - 1].line == u.line else None))
        if not raw:
            return []
        vecs = self.kb.embedder.vectors([u.text for _, u, _, _ in raw])
        sims = vecs @ qvec
        # "Very close in meaning" is judged against the topic as named: a fuller wording adds "high road
        # partnerships", which every passage is close to.
        named = sims if self.query == self.title else vecs @ self.kb.embedder.embed_query(self.title)
        want, s = set(self.terms), self.settings
        out: dict[str, _Candidate] = {}
        on_topic: set[tuple[int, int]] = set()  # (passage, unit start) of the units that qualify on their own
        for (i, u, lead, prev), cos, close in zip(raw, sims, named):
            cos = float(cos)
            lex = len(want & set(stems(f"{u.text} {passages[i].chunk.section} {lead}"))) / len(want) if want else 0.0
            asked = any(f.entity.search(u.text) for f in self.asked.facets) and cos >= s.min_dense
            follows = prev is not None and (i, prev.start) in on_topic and cos >= s.min_dense
            if self.asked.facets and not asked and not follows:
                continue  # a "when" topic's points carry a date, or continue one that does
            if not (lex >= s.min_support or close >= s.semantic_support or asked or follows):
                continue
            on_topic.add((i, u.start))
            score = unit_score(cos, 1.0 if asked else lex, passages[i].rank)
            c = _Candidate(i, u, cos, lex, score, lead)
            out.setdefault(u.text, c)
        return sorted(out.values(), key=lambda c: (-c.score, c.p, c.unit.start))

    def _off_topic(self, passages: list[Passage], cands: list[_Candidate]) -> str:
        if not passages:
            return "nothing is indexed"
        best = max(p.dense for p in passages)
        if best < self.settings.min_dense:
            return f"best passage similarity {best:.2f}"
        if not cands:
            return "no sentence carries the topic's terms or is close to it in meaning"
        return ""

    # key points ---------------------------------------------------------------------------------------
    def _extractive_points(self, cands: list[_Candidate], passages: list[Passage],
                           listed: WholeList | None) -> list[Claim]:
        """Units by maximal marginal relevance (relevant, and not saying what a picked one says), up to
        MAX_POINTS; never a unit on an item line of the whole list (`listed`), nor one saying what an item says."""
        taken = listed.lines if listed else set()
        cands = [c for c in cands if (passages[c.p].chunk.id, c.unit.line) not in taken]
        if not cands:
            return []
        vecs = self.kb.embedder.vectors([c.unit.text for c in cands])
        item_vecs = self.kb.embedder.vectors(listed.items) if listed else np.zeros((0, vecs.shape[1]), np.float32)
        picked: list[int] = []
        pool = [j for j in range(len(cands)) if not (item_vecs @ vecs[j] >= NEAR_DUPLICATE).any()]
        while pool and len(picked) < MAX_POINTS:  # `_verified` keeps the first `room` that hold up
            def mmr(j: int) -> float:
                overlap = max((float(vecs[j] @ vecs[k]) for k in picked), default=0.0)
                return MMR_LAMBDA * cands[j].score - (1 - MMR_LAMBDA) * overlap
            j = max(pool, key=lambda j: (mmr(j), -j))
            pool.remove(j)
            if all(float(vecs[j] @ vecs[k]) < NEAR_DUPLICATE for k in picked):
                picked.append(j)
        return [Claim(self._point_text(cands[j], passages), (cands[j].p + 1,), item=cands[j].unit.kind == "item")
                for j in picked]

    @staticmethod
    def _point_text(c: _Candidate, passages: list[Passage]) -> str:
        """A list item's point is the item: its first sentence and the one after it, verbatim."""
        if c.unit.kind != "item":
            return c.unit.text
        text = passages[c.p].chunk.text
        same = [u for u in units(text) if u.line == c.unit.line and u.start >= c.unit.start][:2]
        return text[same[0].start:same[-1].end]

    def _llm_points(self, reader, qvec: np.ndarray, passages: list[Passage]) -> list[Claim]:
        """The model's key points on the passages that fit its budget; the bar moves as it writes."""
        from kb.models.llm import REFUSAL_PHRASE, LLMError

        shown = fit_passages(reader.llm, self.kb.embedder, qvec, passages, self.settings.llm_context_tokens,
                             self.settings.top_k)
        max_tokens = 2 * self.settings.llm_max_tokens
        written = [0]

        def on_text(delta: str) -> None:  # about four characters a token: 0.1 -> 0.85 of the topic while it writes
            written[0] += len(delta)
            self.step(0.1 + 0.75 * min(1.0, written[0] / (4 * max_tokens)), "reading")

        try:
            gen = reader.llm.generate(_brief_messages(self.title, shown), max_tokens=max_tokens, on_text=on_text)
        except LLMError as exc:
            log.warning("brief: the reader model failed (%s); quoting", exc)
            return []
        if gen.text.strip().upper().startswith(REFUSAL_PHRASE):
            return []
        index = {i + 1: passages.index(p) for i, (p, _) in enumerate(shown)}
        claims = _merge_continuations(parse(gen.text, len(shown)))
        seen, out = set(), []
        for c in claims:
            key = c.text.lower()
            if c.cites and key not in seen:
                seen.add(key)
                out.append(Claim(c.text, tuple(index[n] + 1 for n in c.cites)))
        return out

    def _verified(self, claims: list[Claim], passages: list[Passage],
                  listed: WholeList | None = None) -> list[tuple[Claim, dict]]:
        """What the verifier keeps, each with the backing sentences of each passage it cites; never a heading
        or title, nor an item of the whole list again; at most MAX_POINTS with the list."""
        if not claims:
            return []
        evidence = {i + 1: Evidence.of(i + 1, p) for i, p in enumerate(passages)}
        out = []
        for claim in claims:  # one at a time: the quotes returned belong to this claim alone
            why = not_a_claim(claim.text, [passages[n - 1].chunk for n in claim.cites])
            if not why and (_ANNOUNCEMENT.search(claim.text) or _is_agenda(claim.text, self.agenda)):
                why = "the document announcing what it will cover, not a claim"
            if why:
                log.info("brief: dropped %r: %s", claim.text[:80], why)
                continue
            kept, dropped, quotes = self.kb.verifier.check([claim], evidence, self.question, self.terms)
            for d in dropped:
                log.info("brief: dropped %r: %s", d.text[:80], d.reason)
            for k in kept:
                if listed and restates(k.text, listed, [q for n in k.cites for q in quotes.get(n, [])]):
                    log.info("brief: dropped %r: an item of the list point", k.text[:80])
                else:
                    out.append((k, quotes))
        return out[:MAX_POINTS - (1 if listed else 0)]

    # the topic ----------------------------------------------------------------------------------------
    def _topic(self, claims: list[tuple[Claim, dict]], passages: list[Passage], reader: str,
               listed: WholeList | None) -> Topic:
        points, counts = [], {}
        if listed:  # the list first, whole: its lead-in and every item, verbatim, citing the passages it runs over
            held = {p.chunk.id: p for p in passages}
            cites = []
            for chunk in listed.chunks:
                if chunk.id not in held:
                    held[chunk.id] = Passage(chunk, 0.0, rank=len(passages) + 1)
                    passages = passages + [held[chunk.id]]
                mine = [listed.lead] * (chunk is listed.chunks[0]) + [it for it in listed.items if it in chunk.text]
                cites.append(self.registry.number(held[chunk.id], mine))
                n = passages.index(held[chunk.id]) + 1
                counts[n] = counts.get(n, 0) + max(1, len(mine) - 1)  # it backs each item it holds: read it aloud
            points.append(Point(listed.lead, tuple(dict.fromkeys(cites)), (listed.lead, *listed.items),
                                tuple(listed.items)))
        for claim, quotes in claims:
            cites = []
            for n in claim.cites:
                p = passages[n - 1]
                cites.append(self.registry.number(p, quotes.get(n, [])))
                counts[n] = counts.get(n, 0) + 1
            backing = tuple(q for n in claim.cites for q in quotes.get(n, []))
            points.append(Point(claim.text, tuple(dict.fromkeys(cites)), backing))
        read = []
        ranked = sorted(counts, key=lambda n: (-counts[n], passages[n - 1].rank))
        for n in ranked[:1] + [n for n in ranked[1:2] if counts[n] >= 2]:  # a second passage if it backs two points
            p = passages[n - 1]
            if any(u.screened for u in units(p.chunk.text)):
                continue  # read aloud verbatim means whole: a passage with a screened sentence is not read
            read.append(ReadAloud(self.registry.number(p), p.chunk.title, p.chunk.locator, p.chunk.text.strip()))
        cited = [passages[n - 1] for n in counts]
        return Topic(self.title, True, reader=reader, points=points, read_aloud=read,
                     prompts=self._prompts(points, cited))

    def _prompts(self, points: list[Point], cited: list[Passage]) -> list[Prompt]:
        """Questions for the room from templates. A prompt that carries a figure or a name the cited passages
        do not hold is dropped."""
        topic = _lower_first(self.title)
        all_cites = tuple(sorted({n for p in points for n in p.cites}))
        first = (f'The first key point says: "{points[0].text}" What does this look like in a partnership you know, '
                 f"and what would it take where it is missing?")
        if points[0].items:
            first = ("Of the items listed in the first key point, which is strongest in a partnership you know, and "
                     "which would be hardest to put in place?")
        drafts = [
            (first, points[0].cites),
            (f"Which of the key points on {topic} matters most for your own industry or region, and why?", all_cites),
        ]
        if len(points) > 1:  # with one point, the first prompt is already about it
            drafts.append((f"Who would need to be at the table to act on the {_ORDINAL[len(points) - 1]} key point, "
                           f"and what would each partner bring?", points[-1].cites))
        evidence = [Evidence.of(i, p) for i, p in enumerate(cited, 1)]
        words = set().union(*(e.words for e in evidence))
        figures = set().union(*(e.numbers for e in evidence))
        out = []
        for text, cites in drafts:
            stray = sorted(names(text) - words) + [str(v) for v in numbers(text) - figures]
            if stray:
                log.info("brief: prompt dropped, %s not in the cited passages: %r", stray, text[:80])
                continue
            out.append(Prompt(text, cites))
        return out

    def _not_covered(self, reason: str, passages: list[Passage]) -> Topic:
        """Says so, and lists the closest passages, so a trainer sees what the materials do hold."""
        return Topic(self.title, False, NOT_COVERED.format(topic=_lower_first(self.title)), self.kb.reader.name,
                     closest=[Near.of(p) for p in passages[:CLOSEST]])


_ORDINAL = ("first", "second", "third", "fourth", "fifth", "sixth")


def _lower_first(title: str) -> str:
    return title[0].lower() + title[1:] if title[1:2].islower() else title


# "Join us as we delve into ...", "During this session, we will ...": a document announcing itself.
_ANNOUNCEMENT = re.compile(r"\b(?:join us|we will|we'll|in this (?:session|webinar|brief|report|guide|page)|"
                           r"this (?:session|webinar|brief|report|guide|page) (?:will|covers|provides|offers))\b", re.I)


def _is_statement(u: Unit) -> bool:
    """A key point is a sentence or list item that states something: not a heading, a `Label: value` line, a
    question, a lead-in to a list ("...the following activities:"), a fragment, or the document announcing
    what it will cover."""
    text = u.text.strip()
    return (u.kind in ("sentence", "item") and not text.endswith(("?", ":")) and len(text.split()) >= 6
            and not text.isupper() and not _ANNOUNCEMENT.search(text))


def _lead_in(u: Unit, us: list[Unit]) -> str:
    """For a list item, the line that introduces its list ("...based upon 4 key principles:"): an item means
    what it means as a member of that list."""
    item_lines = {v.line for v in us if v.kind == "item"}
    if u.line not in item_lines:
        return ""
    before = [v for v in us if v.end <= u.start and v.line not in item_lines]
    return before[-1].text if before and before[-1].text.rstrip().endswith(":") else ""


@functools.lru_cache(maxsize=8)
def _agenda_terms(domain: Domain) -> tuple[frozenset[str], ...]:
    """The specific terms of each of the domain's default topics."""
    return tuple(analyse(t, domain.shared).specific for t in domain.default_topics)


def _is_agenda(text: str, agenda: tuple[frozenset[str], ...]) -> bool:
    """A sentence naming three or more of the default topics (`agenda`, their terms) is the session's agenda,
    not a point on one."""
    have = set(stems(text))
    return sum(terms <= have for terms in agenda) >= 3


def _merge_continuations(claims: list[Claim]) -> list[Claim]:
    """A list item's second sentence belongs to its point."""
    out: list[Claim] = []
    for c in claims:
        if c.cont and out:
            prev = out[-1]
            out[-1] = Claim(f"{prev.text} {c.text}", tuple(dict.fromkeys(prev.cites + c.cites)), item=True)
        else:
            out.append(c)
    return out


# the llm prompt --------------------------------------------------------------------------------------------
BRIEF_SYSTEM = """You help a trainer prepare a session for staff of workforce training partnerships, using only the numbered passages in the last message.
Rules:
- Write 3 to 6 key points about the topic, one per line, each starting with "- ".
- Each key point is one or two sentences and ends with the number of the passage it comes from, like [2].
- Copy names, numbers, amounts and dates exactly as the passage writes them.
- Say only what a passage states. If no passage says anything about the topic, reply with exactly: {refusal}"""

# A fictional program that appears in no corpus and no question set.
BRIEF_EXAMPLE = ("""[1] Harbor Kitchen Partnership: History
The partnership was founded in 2019 by the culinary workers' union and four downtown hotels. Its first cohort of 24 trainees graduated in 2020.

[2] Harbor Kitchen Partnership: How it works
Chefs and union stewards write the curriculum together. Graduates earn at least $21.50 an hour at partner hotels.

Topic: how the partnership started and how it trains""",
                 "- The partnership was founded in 2019 by the culinary workers' union and four downtown hotels [1].\n"
                 "- Its first cohort of 24 trainees graduated in 2020 [1].\n"
                 "- Chefs and union stewards write the curriculum together [2].\n"
                 "- Graduates earn at least $21.50 an hour at partner hotels [2].")


def _brief_messages(title: str, shown: list[tuple[Passage, str]]) -> list[dict]:
    from kb.models.llm import REFUSAL_PHRASE

    blocks = [f"[{i}] {heading(p)}\n{text}" for i, (p, text) in enumerate(shown, 1)]
    return [{"role": "system", "content": BRIEF_SYSTEM.format(refusal=REFUSAL_PHRASE)},
            {"role": "user", "content": BRIEF_EXAMPLE[0]}, {"role": "assistant", "content": BRIEF_EXAMPLE[1]},
            {"role": "user", "content": "\n\n".join(blocks) + "\n\nTopic: " + " ".join(title.split())}]
