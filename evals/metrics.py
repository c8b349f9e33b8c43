"""Deterministic metrics, pure functions: no judge model. A correct refusal scores as correct."""

from __future__ import annotations

import math
import re
import statistics

from kb.ask.claims import split_claims

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_MARKERS = re.compile(r"\s*\[\d+\]")


def norm(text: str) -> str:
    """Lowercase, everything but letters and digits collapsed to single spaces."""
    return _NON_ALNUM.sub(" ", text.lower()).strip()


def relevant(passage: str, evidence: list[str]) -> bool:
    p = norm(passage)
    return any(norm(e) and norm(e) in p for e in evidence)


def retrieval_scores(ranked: list[str], evidence: list[str], n_relevant: int, k: int = 5) -> dict[str, float]:
    """hit@1/3/5, reciprocal rank and nDCG@k of a ranked list of passage texts (binary relevance)."""
    rel = [relevant(t, evidence) for t in ranked[:k]]
    first = next((i for i, r in enumerate(rel) if r), None)
    dcg = sum(1 / math.log2(i + 2) for i, r in enumerate(rel) if r)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(max(n_relevant, 1), k)))
    return {"hit@1": float(any(rel[:1])), "hit@3": float(any(rel[:3])), "hit@5": float(any(rel[:5])),
            "mrr": 1 / (first + 1) if first is not None else 0.0, "ndcg@5": dcg / ideal}


def fact_recall(answer: str, facts: list[list[str]]) -> float:
    if not facts:
        return 1.0
    a = f" {norm(_MARKERS.sub('', answer))} "
    return sum(any(f" {norm(s)} " in a for s in group) for group in facts) / len(facts)


def missing_facts(answer: str, facts: list[list[str]]) -> list[str]:
    a = f" {norm(_MARKERS.sub('', answer))} "
    return [group[0] for group in facts if not any(f" {norm(s)} " in a for s in group)]


def evidence_recall(cited_texts: list[str], evidence: list[str]) -> float:
    if not evidence:
        return 1.0
    joined = " | ".join(norm(t) for t in cited_texts)
    return sum(norm(e) in joined for e in evidence) / len(evidence)


def citation_scores(answer: str, sources: dict[int, str]) -> tuple[float, float]:
    """(citation precision, groundedness): the share of citations whose passage contains the sentence citing it,
    and the share of answer sentences found in every passage they cite (uncited text counts as ungrounded)."""
    return _tally(answer, lambda claim, n: norm(claim) in norm(sources.get(n, "")))


def overlap_groundedness(answer: str, sources: dict[int, str], share: float = 0.8) -> float:
    """Groundedness without our verifier: the share of answer sentences of which at least `share` of the words
    (letters and digits, lowercased) stand in each passage they cite."""
    def backs(claim: str, n: int) -> bool:
        mine = norm(claim).split()
        theirs = set(norm(sources.get(n, "")).split())
        return bool(mine) and sum(w in theirs for w in mine) / len(mine) >= share

    return _tally(answer, backs)[1]


def _tally(answer: str, backs) -> tuple[float, float]:
    """(share of (sentence, citation) pairs where `backs(sentence, n)`, share of sentences backed by every
    passage they cite); text outside any cited sentence counts as one more ungrounded sentence."""
    claims = split_claims(answer)
    uncited = _MARKERS.sub("", answer)
    for c, _ in claims:
        uncited = uncited.replace(c, "", 1)
    ok = {(c, n): backs(c, n) for c, ns in claims for n in ns}
    pairs = [ok[(c, n)] for c, ns in claims for n in ns]
    grounded = [all(ok[(c, n)] for n in ns) for c, ns in claims]
    total = len(grounded) + (1 if norm(uncited) else 0)
    return (sum(pairs) / len(pairs) if pairs else 0.0), (sum(grounded) / total if total else 0.0)


def words(answer: str) -> int:
    return len(_MARKERS.sub("", answer).split())


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    xs = sorted(values)
    i = min(len(xs) - 1, max(0, math.ceil(q / 100 * len(xs)) - 1))
    return xs[i]


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else 0.0


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def verified_scores(answer: str, citations: dict[int, dict], verifier, question: str = "") -> tuple[float, float]:
    """(citation precision, groundedness) by the verifier: the share of citations whose passage backs the
    sentence citing it, and the share of sentences backed by every passage they cite (uncited text counts
    as ungrounded). Re-checked from the answer as printed, so a rendering bug cannot hide."""
    from kb.types import Chunk, Passage
    from kb.ask.verify import Evidence

    evidence = {n: Evidence.of(n, Passage(Chunk(id=c.get("chunk_id", ""), text=c["text"], doc_sha="", path=c["source"],
                                                title=c["title"], section=c.get("section", "")), 0.0))
                for n, c in citations.items()}
    asked = verifier.asked(question, [])
    return _tally(answer, lambda claim, n: n in evidence and verifier.supports(claim, evidence[n], asked).ok)
