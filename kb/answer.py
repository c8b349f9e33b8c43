"""The extractive, verified answerer: pick sentences, cite, verify, or refuse.

No generative model: every sentence of an answer is a sentence of a retrieved passage, followed by `[n]` for
the numbered source it comes from, and `verify` re-checks each one against its source before returning.

Refusal is decided on the evidence, not on similarity alone:
1. the question must be on topic: a passage close in meaning (dense cosine >= `min_dense`) or sharing its terms;
2. the chosen sentences must contain enough of the question's specific terms (`min_support`), unless one is
   very close in meaning to the question (`semantic_support`: paraphrases share no words);
3. what the question asks for must be there: a number for "how much", a date for "when"/"deadline", a name
   for "who is the director", and the thing itself when the question names it ("deadline", "salary").
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from kb.embedding import Embedder
from kb.question import QuestionInfo
from kb.settings import Settings
from kb.text import normalize_ws, sentence_spans, stems
from kb.types import Passage, Source

REFUSAL = "The HRTP materials here don't answer that."
# Sentence score = W_COS * cosine(question, sentence) + W_LEX * share of the question's terms it holds
# + W_RANK / passage rank. Chosen on the dev questions (evals/README.md).
W_COS, W_LEX, W_RANK = 0.5, 0.4, 0.1


@dataclass
class Candidate:
    p: int  # index into passages
    start: int  # span in the passage text
    end: int
    text: str
    bullet: bool
    score: float = 0.0
    lex: float = 0.0
    cos: float = 0.0


@dataclass
class Draft:
    text: str
    refused: bool
    sources: list[Source]
    reason: str = ""


class Answerer:
    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        self._vec_cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def answer(self, q: QuestionInfo, qvec: np.ndarray, passages: list[Passage]) -> Draft:
        if not passages:
            return Draft(REFUSAL + " Nothing relevant is indexed.", True, [], "no passages")
        if max(p.dense for p in passages) < self.settings.min_dense and not any(p.bm25 > 0 for p in passages):
            return self._refuse(passages, "off topic")  # neither meaning nor words are near anything indexed
        cands = self._score(q, qvec, passages)
        if not cands:
            return self._refuse(passages, "no sentences")
        picked = self._pick(q, cands, passages)
        reason = self._unsupported(q, picked, passages)
        if reason:
            return self._refuse(passages, reason)
        return self._compose(picked, passages, as_list=q.is_list)

    # scoring ------------------------------------------------------------------------------------------
    def _score(self, q: QuestionInfo, qvec: np.ndarray, passages: list[Passage]) -> list[Candidate]:
        cands: list[Candidate] = []
        for i, p in enumerate(passages):
            if p.chunk.flag:
                continue  # text that gives orders (ingest/screen.py) is data to show, never an answer
            text = p.chunk.text
            for a, b in sentence_spans(text):
                s = text[a:b]
                if (len(s.split()) < 4 and not s.startswith("•")) or s.endswith("?") or s.isupper():
                    continue  # fragments, and headings that are titles or questions, answer nothing
                line_start = text.rfind("\n", 0, a) + 1
                cands.append(Candidate(i, a, b, s, text[line_start:].startswith("• ")))
        if not cands:
            return []
        vecs = self._vectors([c.text for c in cands])
        want = q.specific or frozenset(q.terms)
        sims = vecs @ qvec
        for c, sim in zip(cands, sims):
            p = passages[c.p]
            context = set(stems(c.text)) | set(stems(p.chunk.section))
            c.lex = len(want & context) / len(want) if want else 0.0
            c.cos = float(sim)
            c.score = W_COS * c.cos + W_LEX * c.lex + W_RANK / p.rank
        cands.sort(key=lambda c: -c.score)
        return cands

    def _vectors(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vec_cache]
        if missing:
            for t, v in zip(missing, self.embedder.embed_batch(missing)):
                self._vec_cache[t] = v
            while len(self._vec_cache) > 50_000:
                self._vec_cache.popitem(last=False)
        return np.stack([self._vec_cache[t] for t in texts])

    # selection ----------------------------------------------------------------------------------------
    def _pick(self, q: QuestionInfo, cands: list[Candidate], passages: list[Passage]) -> list[Candidate]:
        best = cands[0]
        if q.focus:
            return self._whole_item(best, cands, passages)
        if q.is_list:
            items = self._list_at(best, cands, passages)
            if items:
                return items
        picked = [best]
        words = len(best.text.split())
        for c in cands[1:4]:
            if c.score < best.score * 0.85 or c.cos < self.settings.min_dense:
                break
            n = len(c.text.split())
            if words + n > self.settings.max_answer_words:
                continue
            picked.append(c)
            words += n
        # A list item is one unit: "• Community Focused - <definition>. <what it means in practice>." keeps
        # its later sentences when its first one answers.
        for c in list(picked):
            if c.text.startswith("•"):
                for rest in self._whole_item(c, cands, passages)[1:]:
                    n = len(rest.text.split())
                    if rest not in picked and words + n <= self.settings.max_answer_words:
                        picked.append(rest)
                        words += n
        return sorted(picked, key=lambda c: (passages[c.p].rank, c.start))

    def _list_at(self, best: Candidate, cands: list[Candidate], passages: list[Passage]) -> list[Candidate]:
        """When the best passage holds a list that answers, its intro line and each item's first sentence."""
        p = best.p
        mine = sorted((c for c in cands if c.p == p), key=lambda c: c.start)
        bullets = [c for c in mine if c.bullet and passages[p].chunk.text[c.start] == "•"]
        if len(bullets) < 2:
            return []
        first = bullets[0].start
        intro = [c for c in mine if c.end <= first and c.text.rstrip().endswith(":")][-1:]
        return intro + bullets

    def _whole_item(self, best: Candidate, cands: list[Candidate], passages: list[Passage]) -> list[Candidate]:
        """A follow-up about one list item: every sentence of the line (item) the best sentence is on."""
        text = passages[best.p].chunk.text
        line_start = text.rfind("\n", 0, best.start) + 1
        line_end = text.find("\n", best.end)
        line_end = len(text) if line_end < 0 else line_end
        same = [c for c in cands if c.p == best.p and c.start >= line_start and c.end <= line_end]
        return sorted(same, key=lambda c: c.start)

    # the refusal gate ---------------------------------------------------------------------------------
    def _unsupported(self, q: QuestionInfo, picked: list[Candidate], passages: list[Passage]) -> str:
        quoted = " ".join(c.text for c in picked)
        # A question that names the document ("the webinar", "WED's") is supported by the cited document's title.
        context = set(stems(quoted)) | {s for c in picked for s in stems(f"{passages[c.p].chunk.section} "
                                                                         f"{passages[c.p].chunk.title}")}
        want = q.specific
        close = max(c.cos for c in picked) >= self.settings.semantic_support
        if want and not q.focus and not close:
            support = len(want & context) / len(want)
            if support < self.settings.min_support:
                return f"support {support:.2f}: missing {sorted(want - context)}"
        for facet in q.facets:
            if facet.nouns and not facet.nouns & context:
                return f"{facet.name}: the evidence never mentions {sorted(facet.nouns)}"
            # The fact must sit with the thing asked about: "K-12" beside "higher wages" is no wage floor.
            if not any(facet.entity.search(c.text) and (not facet.nouns or facet.nouns & set(stems(c.text)))
                       for c in picked):
                return f"{facet.name}: no {facet.name} in the evidence"
        return ""

    # output -------------------------------------------------------------------------------------------
    def _compose(self, picked: list[Candidate], passages: list[Passage], as_list: bool) -> Draft:
        numbers: dict[int, int] = {}
        claims: list[Claim] = []
        for c in picked:
            n = numbers.setdefault(c.p, len(numbers) + 1)
            if c.text.startswith("•"):
                claims.append(Claim(c.text[1:].strip(), n, item=as_list))
            else:
                claims.append(Claim(c.text, n, cont=c.bullet and bool(claims) and claims[-1].item))
        sources = [_source(n, passages[p], [c.text for c in picked if c.p == p]) for p, n in numbers.items()]
        return verify(claims, sources)

    def _refuse(self, passages: list[Passage], reason: str) -> Draft:
        closest = [_source(i + 1, p, []) for i, p in enumerate(passages[:3])]
        return Draft(f"{REFUSAL} The closest passages are listed below.", True, closest, reason)


def _source(n: int, p: Passage, quotes: list[str]) -> Source:
    c = p.chunk
    return Source(n=n, chunk_id=c.id, path=c.path, title=c.title, locator=c.locator, text=c.text,
                  publisher=c.publisher, kind=c.kind, section=c.section, quotes=tuple(quotes), score=p.score)


@dataclass
class Claim:
    text: str  # verbatim from source n
    n: int
    item: bool = False  # a list item: rendered on its own line
    cont: bool = False  # a further sentence of the list item before it


def render(claims: list[Claim]) -> str:
    out = ""
    for c in claims:
        if c.item:
            out += f"\n- {c.text} [{c.n}]"
        elif c.cont:
            out += f" {c.text} [{c.n}]"
        else:
            out += f"{' ' if out else ''}{c.text} [{c.n}]"
    return out.strip()


def verify(claims: list[Claim], sources: list[Source]) -> Draft:
    """Keep only the claims that are, whitespace-normalised, inside the passage they cite."""
    by_n = {s.n: normalize_ws(s.text) for s in sources}
    kept = [c for c in claims if normalize_ws(c.text) and normalize_ws(c.text) in by_n.get(c.n, "")]
    if not kept:
        return Draft(REFUSAL, True, sources, "verification removed every sentence")
    cited = {c.n for c in kept}
    return Draft(render(kept), False, [s for s in sources if s.n in cited])



def split_claims(text: str) -> list[tuple[str, list[int]]]:
    """An answer's sentences with the source numbers each cites: `sentence [1]` -> ("sentence", [1])."""
    out = []
    for m in re.finditer(r"(?:^|(?<=\]))[ \t]*\n?(?:- )?(.+?)((?:\s*\[\d+\])+)", text, re.S):
        out.append((m.group(1).strip(), [int(n) for n in re.findall(r"\d+", m.group(2))]))
    return out
