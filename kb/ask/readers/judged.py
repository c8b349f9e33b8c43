"""The judged reader (default): the model writes, the extractive reader quotes, and one calibrated judgement
(kb/ask/judge.py) decides what the answer says.

1. Both readers read the same passages: the model's sentences and the quoting reader's picks are candidates.
2. Repair before dropping: a model sentence without a marker is cited to the passage that backs it best; one
   whose passage holds a sentence saying the same thing (cosine >= `REPAIR_SIMILARITY`) gets that quote as an
   alternative; a list the model cut short gets its missing items as quotes (kb/ask/readers/lists.py).
3. Each candidate gets P(supported and answers); the answer as a whole gets P(the materials answer). Below the
   answer cut-off: a refusal with the closest passages. One check stays a veto: a model sentence whose
   figure, name or address is not in the passage it is cited to (or that stops before its answer) is never
   shown, whatever its probability, and one the verifier objects to needs `JudgeModel.objected_cut`. Otherwise
   the model's sentences that pass (or their repairs), and the quotes as the judgement's policy says
   (`JudgeModel.quotes`).
Every sentence shown is either a verbatim quote or a model sentence that passed the judgement; dropped sentences
are reported with the verifier's reason or their probability (a list item said twice is merged, not reported).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from kb.ask.claims import Claim, parse
from kb.models.embedder import Embedder
from kb.ask.judge import Candidate, JudgeModel
from kb.models.llm import REFUSAL_PHRASE
from kb.ask.question import QuestionInfo
from kb.ask.readers.base import Reader, compose, refusal
from kb.types import Draft
from kb.ask.readers.extractive import ExtractiveReader
from kb.ask.readers.lists import is_lead_in, restore_lists, tidy_lists
from kb.ask.readers.llm import LLMReader
from kb.settings import Settings
from kb.text.terms import stems
from kb.types import Passage
from kb.ask.verify import Evidence, Verifier
from kb.types import Dropped

NAME = "judged"
REPAIR_SIMILARITY = 0.7  # a model sentence this close to one sentence of a passage may be replaced by that quote


@dataclass
class Judgement:
    """Everything the decision weighs for one question: the candidates with their features, and the
    answer-level signals."""

    q: QuestionInfo
    passages: list[Passage]
    evidence: dict[int, Evidence]
    refusal: str  # the domain's refusal sentence, which a refusal opens with
    candidates: list[Candidate] = field(default_factory=list)
    signals: dict[str, float] = field(default_factory=dict)
    ext_reason: str = ""
    timings: dict[str, float] = field(default_factory=dict)


class JudgedReader(Reader):
    name = NAME
    streams = True

    def __init__(self, settings: Settings, embedder: Embedder, verifier: Verifier, writer: LLMReader,
                 quoter: ExtractiveReader, model: JudgeModel) -> None:
        self.settings = settings
        self.embedder = embedder
        self.verifier = verifier
        self.writer = writer  # the model's side (its prompt and passage budget are the llm reader's)
        self.quoter = quoter
        self.model = model

    @property
    def llm(self):
        return self.writer.llm

    def answer(self, q: QuestionInfo, qvec: np.ndarray, passages: list[Passage], history: list[dict] | None,
               on_text: Callable[[str], None] | None = None) -> Draft:
        judgement = self.weigh(q, qvec, passages, history, on_text)
        draft = decide(judgement, self.model)
        draft.timings.update(judgement.timings)
        return draft

    # the candidates and their features ------------------------------------------------------------------------
    def weigh(self, q: QuestionInfo, qvec: np.ndarray, passages: list[Passage], history: list[dict] | None = None,
              on_text: Callable[[str], None] | None = None) -> Judgement:
        passages = passages[: self.settings.top_k]
        picked, ext_reason = self.quoter.propose(q, qvec, passages)
        shown, gen, timings = self.writer.write(q, qvec, passages, history, on_text)
        rank_of = {i + 1: next(k for k, p in enumerate(passages, 1) if p is sp) for i, (sp, _) in enumerate(shown)}
        text = gen.text.strip()
        refusal_text = self.settings.domain.refusal
        said_no = text.upper().startswith(REFUSAL_PHRASE) or text.startswith(refusal_text)
        written = [] if said_no else [c for c in parse(text, len(shown)) if REFUSAL_PHRASE not in c.text.upper()]
        written = [replace(c, cites=tuple(rank_of[n] for n in c.cites)) for c in written]
        quoted = self.quoter.claims(q, picked)
        evidence = {n: Evidence.of(n, p) for n, p in enumerate(passages, 1)}
        p_refusal = gen.p_refusal if gen.p_refusal is not None else 0.0
        common = {"p_refusal": p_refusal, "model_refused": float(said_no), "best_dense": max(p.dense for p in passages),
                  "ext_refused": float(bool(ext_reason))}
        j = Judgement(q, passages, evidence, refusal_text, signals=dict(common), ext_reason=ext_reason, timings=timings)
        asked = self.verifier.asked(q.text, sorted(q.specific or q.terms))
        stats = self.verifier.term_stats()
        texts = [c.text for c in written] + [c.text for c in quoted]
        vecs = self.embedder.vectors(texts) if texts else np.zeros((0, len(qvec)))
        model_vecs, quote_vecs = vecs[: len(written)], vecs[len(written):]
        for source, claims, own, other in (("model", written, model_vecs, quote_vecs),
                                           ("quote", quoted, quote_vecs, model_vecs)):
            for i, (claim, vec) in enumerate(zip(claims, own)):
                agree = float(np.max(other @ vec)) if len(other) else 0.0
                cand = self._candidate(claim, source, vec, qvec, agree, evidence, asked, stats, q, common)
                j.candidates.append(cand)
                if source == "model" and cand.reason and cand.unit is not None and \
                        cand.features["similarity"] >= REPAIR_SIMILARITY and cand.unit.text != claim.text:
                    fix = Claim(cand.unit.text, (cand.n,), item=claim.item, cont=claim.cont)
                    fvec = self.embedder.vectors([fix.text])[0]
                    rep = self._candidate(fix, "repair", fvec, qvec, agree, evidence, asked, stats, q, common)
                    rep.of = len(j.candidates) - 1
                    j.candidates.append(rep)
        cited = {c.n for c in j.candidates}
        cover, _ = self.verifier.coverage(sorted(q.specific or q.terms), [evidence[n] for n in sorted(cited)] or
                                          list(evidence.values()))
        j.signals.update(coverage=cover, q_lex=max((c.features["q_lex"] for c in j.candidates), default=0.0))
        return j

    def _candidate(self, claim: Claim, source: str, vec: np.ndarray, qvec: np.ndarray, agree: float,
                   evidence: dict[int, Evidence], asked, stats, q: QuestionInfo, common: dict) -> Candidate:
        measures = {n: self.verifier.measure(claim.text, ev, asked, stats) for n, ev in evidence.items()}
        checks = {n: m.check(n, self.settings) for n, m in measures.items()}
        ok = [n for n in evidence if checks[n].ok]
        cites = [n for n in claim.cites if n in evidence]
        by_sim = lambda ns: max(ns, key=lambda n: (measures[n].similarity, -n))  # noqa: E731
        cited_ok = [n for n in cites if checks[n].ok]
        best = by_sim(cited_ok) if cited_ok else by_sim(ok) if ok else cites[0] if cites else by_sim(list(evidence))
        m = measures[best]
        absent_nums = set.intersection(*(set(x.missing_numbers) for x in measures.values()))
        absent_names = set.intersection(*(set(x.missing_names) for x in measures.values()))
        chunk = evidence[best].passage.chunk
        want = q.specific or frozenset(q.terms)
        here = set(stems(claim.text)) | set(stems(f"{chunk.section} {chunk.title}"))
        features = {
            "marker": float(bool(cites)), "cited_ok": float(bool(cited_ok)), "ok": float(bool(ok)),
            "support": min(len(ok), 3) / 3, "figure_absent": float(bool(absent_nums)),
            "name_absent": float(bool(absent_names)), "share": m.share, "similarity": m.similarity,
            "attached": float(not m.attachment), "figure": float(bool(m.figures)), "dangling": float(m.dangling),
            "q_sim": float(vec @ qvec), "q_lex": len(want & here) / len(want) if want else 0.0, "agree": agree,
            "quote": float(source != "model"), "repair": float(source == "repair"), "item": float(claim.item),
            "rank": 1.0 / best, **common,
        }
        invents = m.dangling or m.missing_numbers or m.missing_address or m.missing_names
        return Candidate(claim.text, source, best, features, item=claim.item, cont=claim.cont,
                         reason="" if checks[best].ok else checks[best].reason, unit=m.unit,
                         invents=checks[best].reason if invents else "")


# the decision --------------------------------------------------------------------------------------------------
def decide(j: Judgement, model: JudgeModel) -> Draft:
    """The answer the judgement gives: a pure function of the candidates' features and the model, so that
    evals/calibrate.py can replay it with other weights and cut-offs."""
    for c in j.candidates:
        c.p = model.sentence_p(c.features)
    written = [c for c in j.candidates if c.source == "model"]
    quotes = [c for c in j.candidates if c.source == "quote"]
    repairs = {c.of: c for c in j.candidates if c.source == "repair"}
    cut = model.sentence_cut
    p_answer = model.answer_p(answer_features(j, model))
    signals = {**j.signals, "p_answer": p_answer, "claims": float(len(written))}
    dropped: list[Dropped] = []
    kept: list[Candidate] = []
    for i, c in enumerate(j.candidates):
        if c.source != "model":
            continue
        fix = repairs.get(i)
        # the judgement weighs; one the verifier objects to needs a surer one; a figure from nowhere never stands
        if c.p >= (max(cut, model.objected_cut) if c.reason else cut) and not c.invents:
            kept.append(c)
        elif fix is not None and fix.p >= cut:
            kept.append(fix)
            dropped.append(Dropped(c.text, f"{c.reason or 'judged unlikely'}; the passage's own sentence stands "
                                           "instead"))
        else:
            dropped.append(Dropped(c.text, c.reason or f"judged unlikely to answer (p={c.p:.2f})"))
    if model.quotes == "add" or (model.quotes == "fallback" and not kept):
        for c in quotes:
            if c.p >= cut and _adds(c, kept, model.redundant):
                kept.append(c)
    kept = _lead_ins_first(kept, {n: {u.line for u in ev.units if u.kind == "item"} for n, ev in j.evidence.items()})
    signals["kept"] = float(len(kept))
    if p_answer < model.answer_cut:
        draft = refusal(j.refusal, j.passages, f"the judgement leaned to no answer (p={p_answer:.2f})", NAME, dropped)
    elif not kept:
        draft = refusal(j.refusal, j.passages, "no sentence passed the judgement", NAME, dropped)
    else:
        claims = _unique([Claim(c.text, (c.n,), item=c.item, cont=c.cont and i > 0) for i, c in enumerate(kept)])
        claims = tidy_lists(restore_lists(claims, j.evidence, j.q.text))
        by_n = {n: ev.passage for n, ev in j.evidence.items()}
        quoted: dict[int, list[str]] = {}
        for c in kept:
            if c.unit is not None and c.unit.text not in quoted.setdefault(c.n, []):
                quoted[c.n].append(c.unit.text)
        draft = compose(claims, by_n, quoted, NAME, dropped)
    draft.signals = signals
    return draft


def answer_features(j: Judgement, model: JudgeModel) -> dict[str, float]:
    """The answer-level signals and the best of the candidates: what P(the materials answer) weighs."""
    written = [c for c in j.candidates if c.source == "model"]
    ps = [model.sentence_p(c.features) for c in written]
    best = lambda name: max((c.features[name] for c in written), default=0.0)  # noqa: E731
    return {**j.signals, "max_model": max(ps, default=0.0), "n_model": sum(p >= model.sentence_cut for p in ps) / 3,
            "max_quote": max((model.sentence_p(c.features) for c in j.candidates if c.source == "quote"), default=0.0),
            "model_ok": best("ok"), "model_similarity": best("similarity"), "model_agree": best("agree")}


def _lead_ins_first(kept: list[Candidate], item_lines: dict[int, set[int]]) -> list[Candidate]:
    """A list's lead-in ("...based upon 4 key principles:") stands before the first kept sentence of the list its
    passage puts after it (a quote joins after the model's items, so it is moved there); with none, it goes.
    `item_lines`: per passage, the lines of its list items."""
    out = [k for k in kept if not is_lead_in(k.text)]
    for c in (k for k in kept if is_lead_in(k.text)):
        line = c.unit.line if c.unit is not None else -1
        mine = [i for i, k in enumerate(out) if k.n == c.n and k.unit is not None and k.unit.line > line
                and k.unit.line in item_lines.get(c.n, ())]
        if mine:
            out.insert(mine[0], c)
    return out


def _adds(quote: Candidate, kept: list[Candidate], redundant: float) -> bool:
    """A quote adds to the kept sentences unless they already hold `redundant` of its words."""
    have = {s for k in kept for s in stems(k.text)}
    mine = set(stems(quote.text))
    return bool(mine) and sum(s in have for s in mine) / len(mine) < redundant



def _unique(claims: list[Claim]) -> list[Claim]:
    seen: set[str] = set()
    out = []
    for c in claims:
        if c.text not in seen:
            seen.add(c.text)
            out.append(c)
    return out


def build(settings: Settings, embedder: Embedder, verifier: Verifier, quoter: ExtractiveReader, llm) -> JudgedReader:
    """The registry's factory (kb/ask/readers/registry.py): the llm reader writes, `quoter` quotes."""
    return JudgedReader(settings, embedder, verifier, LLMReader(settings, embedder, verifier, llm), quoter,
                        JudgeModel.load())
