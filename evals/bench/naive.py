"""The pipeline a newcomer would build: llama-index defaults (SentenceSplitter() 1024/200, VectorStoreIndex
over Chroma, top-2 dense retrieval), with the same embedding model. No LLM: retrieval only."""

from __future__ import annotations

import time
from pathlib import Path

from evals import metrics as m
from kb.models.embedder import Embedder


def _adapter(emb: Embedder):
    from llama_index.core.embeddings import BaseEmbedding
    from pydantic import PrivateAttr

    class OurModel(BaseEmbedding):
        _emb: Embedder = PrivateAttr()

        def __init__(self, e: Embedder) -> None:
            super().__init__(model_name="all-MiniLM-L6-v2", embed_batch_size=64)
            self._emb = e

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._emb.embed_query(query).tolist()

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._emb.embed_batch([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._emb.embed_batch(texts).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    return OurModel(emb)


def run(emb: Embedder, folder: Path, store: Path, questions: list[dict]) -> dict:
    import chromadb
    from llama_index.core import Settings as LISettings
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.vector_stores.chroma import ChromaVectorStore

    LISettings.llm = None  # never answers; only its retriever is measured
    model = _adapter(emb)
    t = time.perf_counter()
    docs = SimpleDirectoryReader(str(folder), required_exts=[".txt"]).load_data()
    client = chromadb.PersistentClient(path=str(store))
    collection = client.get_or_create_collection("naive", embedding_function=None)
    ctx = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection))
    index = VectorStoreIndex.from_documents(docs, storage_context=ctx, embed_model=model,
                                            transformations=[SentenceSplitter()])
    secs = time.perf_counter() - t
    nodes = collection.count()
    stored = collection.get(include=["documents"])["documents"]
    retriever = index.as_retriever(similarity_top_k=2)
    scores, lat = [], []
    for q in questions:
        retriever.retrieve(q["question"])  # warm
    for q in questions:
        t = time.perf_counter()
        got = retriever.retrieve(q["question"])
        lat.append((time.perf_counter() - t) * 1000)
        if q.get("evidence"):
            n_rel = sum(m.relevant(t, q["evidence"]) for t in stored)
            scores.append(m.retrieval_scores([n.node.get_content() for n in got], q["evidence"], n_rel))
    keys = ("hit@1", "hit@3", "hit@5", "mrr", "ndcg@5")
    return {"chunks": nodes, "ingest_seconds": round(secs, 2), "chunks_per_s": round(nodes / secs, 1),
            "latency_ms": {"p50": round(m.percentile(lat, 50), 2), "p95": round(m.percentile(lat, 95), 2)},
            "retrieval": {k: round(m.mean([s[k] for s in scores]), 4) for k in keys},
            "mean_chunk_words": round(m.mean([len(t.split()) for t in stored]), 1)}
