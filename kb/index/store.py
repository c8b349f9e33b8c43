"""The Chroma store: chunks with our own vectors, and a registry of ingested files.

Two collections live in one Chroma (on disk under `store_dir/chroma`, or a server at `chroma_url`):
- `<collection>`: one record per chunk, id = content hash, our 384-d vector, the chunk text and metadata.
- `<collection>_files`: one record per ingested path (its content hash, title, chunk count) plus a
  `__state__` record whose `generation` changes whenever the chunks change. Readers compare generations to
  know that their BM25 index is stale. Keeping the registry in Chroma, not in a local file, lets several
  machines share one Chroma server and still agree on what is indexed.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterator
from urllib.parse import urlparse

import numpy as np

from kb.errors import ConfigError, StoreError
from kb.settings import Settings
from kb.types import Chunk

log = logging.getLogger(__name__)

_BATCH = 4000  # Chroma 1.x rejects batches above about 5,400 records
_STATE_ID = "__state__"
_DUMMY = [0.0]  # registry records carry no meaning in vector space, but Chroma wants a vector


@dataclass(frozen=True)
class FileRecord:
    path: str
    doc_sha: str
    title: str
    n_chunks: int
    ingested_at: float
    publisher: str = ""
    kind: str = ""


def _client(settings: Settings):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if url.scheme not in {"http", "https"} or not url.hostname:
            raise ConfigError(f"HRTP_CHROMA_URL must look like http://127.0.0.1:8000, not {settings.chroma_url!r}")
        try:
            client = chromadb.HttpClient(
                host=url.hostname, port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https", settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as exc:
            raise StoreError(
                f"Cannot reach the Chroma server at {settings.chroma_url} ({exc.__class__.__name__}). Start it with "
                "`chroma run --path DIR --host 127.0.0.1 --port PORT`, or drop --chroma-url to use the on-disk store."
            ) from exc
        return client
    try:
        settings.chroma_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)
    except Exception as exc:
        raise StoreError(f"Cannot open the store at {settings.chroma_dir}: {exc}. Check the path and its permissions.") from exc


LEGACY_MODEL = "all-MiniLM-L6-v2"  # stores written before the model was recorded used it


class Store:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.location = settings.chroma_url or str(settings.store_dir.resolve())
        self._hnsw = {"space": "cosine", "ef_construction": settings.hnsw_ef, "ef_search": settings.hnsw_ef,
                      "max_neighbors": settings.hnsw_m}
        self._reopen_lock = threading.Lock()
        self._open(_client(settings))
        self._seen = self._read_generation()

    def _open(self, client) -> None:
        self._client = client
        names = {c if isinstance(c, str) else c.name for c in client.list_collections()}
        side = f"{self.settings.collection}_reembed"
        if self.settings.collection not in names and side in names:  # a re-embedding was killed after the old one went
            client.get_collection(side, embedding_function=None).modify(name=self.settings.collection)
        elif side in names:  # a re-embedding was killed half way: the old collection is intact
            client.delete_collection(side)
        # embedding_function=None: we always pass our own vectors, and Chroma must never fetch a model.
        self.chunks = self._collection(self.settings.collection)
        self.files = client.get_or_create_collection(f"{self.settings.collection}_files", embedding_function=None)

    def _collection(self, name: str):
        return self._client.get_or_create_collection(name, embedding_function=None, configuration={"hnsw": self._hnsw})

    # chunks -------------------------------------------------------------------------------------------
    def count(self) -> int:
        return self.chunks.count()

    def add_chunks(self, chunks: list[Chunk], vectors: np.ndarray) -> None:
        for i in range(0, len(chunks), _BATCH):
            part = chunks[i : i + _BATCH]
            self.chunks.upsert(
                ids=[c.id for c in part],
                embeddings=vectors[i : i + _BATCH],
                documents=[c.text for c in part],
                metadatas=[c.to_metadata() for c in part],
            )

    def delete_doc(self, doc_sha: str) -> None:
        self.chunks.delete(where={"doc_sha": doc_sha})

    def get_chunks(self, ids: list[str]) -> list[Chunk]:
        if not ids:
            return []
        got = self.chunks.get(ids=ids, include=["documents", "metadatas"])
        by_id = {i: Chunk.from_record(i, d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])}
        return [by_id[i] for i in ids if i in by_id]

    def chunks_between(self, doc_sha: str, start: int, end: int) -> list[Chunk]:
        """A document's chunks overlapping [start, end), in document order."""
        got = self.chunks.get(where={"$and": [{"doc_sha": doc_sha}, {"end": {"$gt": start}}, {"start": {"$lt": end}}]},
                              include=["documents", "metadatas"])
        found = [Chunk.from_record(i, d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])]
        return sorted(found, key=lambda c: c.start)

    def set_title(self, doc_sha: str, title: str) -> int:
        """A document's title, as a person set it, on each of its chunks (sources show it, BM25 reads it)."""
        got = self.chunks.get(where={"doc_sha": doc_sha}, include=["metadatas"])
        if got["ids"]:
            self.chunks.update(ids=got["ids"], metadatas=[m | {"title": title} for m in got["metadatas"]])
        return len(got["ids"])

    def ids_of(self, paths: list[str]) -> set[str]:
        """The ids of every chunk of the documents at `paths`."""
        if not paths:
            return set()
        return set(self.chunks.get(where={"path": {"$in": list(paths)}}, include=[])["ids"])

    def get_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        got = self.chunks.get(ids=ids, include=["embeddings"])
        return {i: np.asarray(e, dtype=np.float32) for i, e in zip(got["ids"], got["embeddings"])}

    def query(self, vector: np.ndarray, k: int, paths: list[str] | None = None) -> list[tuple[Chunk, float]]:
        """Nearest chunks by cosine similarity (1 - Chroma's cosine distance), in the index as of the last
        `generation()` call (the retriever makes one per search: another process's changes come first);
        with `paths`, only chunks of those documents."""
        n = min(k, self.count())
        if n == 0 or paths == []:
            return []
        where = {"path": {"$in": list(paths)}} if paths is not None else None
        res = self.chunks.query(query_embeddings=[vector], n_results=n, where=where,
                                include=["documents", "metadatas", "distances"])
        return [
            (Chunk.from_record(i, d, m), 1.0 - float(dist))
            for i, d, m, dist in zip(res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0])
        ]

    def iter_chunks(self, include_vectors: bool = False) -> Iterator[tuple[Chunk, Any]]:
        """Every chunk, paged, in a stable order (Chroma returns insertion order)."""
        include = ["documents", "metadatas"] + (["embeddings"] if include_vectors else [])
        offset = 0
        while True:
            got = self.chunks.get(include=include, limit=_BATCH, offset=offset)
            if not got["ids"]:
                return
            vecs = got["embeddings"] if include_vectors else [None] * len(got["ids"])
            for i, d, m, v in zip(got["ids"], got["documents"], got["metadatas"], vecs):
                yield Chunk.from_record(i, d, m), v
            offset += len(got["ids"])

    def doc_shas(self) -> set[str]:
        return {c.doc_sha for c, _ in self.iter_chunks()}

    # file registry ------------------------------------------------------------------------------------
    def file_records(self) -> dict[str, FileRecord]:
        got = self.files.get(include=["metadatas"])
        return {i: FileRecord(**m) for i, m in zip(got["ids"], got["metadatas"]) if i != _STATE_ID}

    def register(self, rec: FileRecord) -> None:
        self.files.upsert(ids=[rec.path], metadatas=[asdict(rec)], embeddings=[_DUMMY])

    def unregister(self, path: str) -> None:
        self.files.delete(ids=[path])

    def _state(self) -> dict[str, Any]:
        got = self.files.get(ids=[_STATE_ID], include=["metadatas"])
        return dict(got["metadatas"][0]) if got["ids"] else {}

    def _set_state(self, **values: Any) -> None:
        self.files.upsert(ids=[_STATE_ID], metadatas=[self._state() | values], embeddings=[_DUMMY])

    def _read_generation(self) -> str:
        return self._state().get("generation", "")

    def generation(self) -> str:
        """The chunks' generation; first, if another process changed them, this process's view is renewed.
        On-disk Chroma reads records afresh but keeps its vector index in memory as the process first loaded
        it, so a long-running process (the chat) would otherwise never find what `hrtp ingest` added and keep
        finding what `hrtp remove` took out. Reopening costs about 25 ms, once per change."""
        gen = self._read_generation()
        if gen != self._seen and not self.settings.chroma_url:  # a server's index is always current
            with self._reopen_lock:
                if gen != self._seen:
                    from chromadb.api.shared_system_client import SharedSystemClient

                    log.info("the store changed in another process; reopening %s", self.location)
                    SharedSystemClient.clear_system_cache()  # else the same in-memory index comes back
                    self._open(_client(self.settings))
        self._seen = gen
        return gen

    def bump_generation(self) -> str:
        gen = f"{time.time():.6f}-{uuid.uuid4().hex[:8]}"
        self._set_state(generation=gen)
        self._seen = gen  # this process's own index has the change already
        return gen

    # the embedding model ----------------------------------------------------------------------------
    def embedding_model(self) -> str:
        """The model the stored vectors come from ("" for an empty store)."""
        model = self._state().get("model", "")
        return model or (LEGACY_MODEL if self.count() else "")

    def set_embedding_model(self, name: str) -> None:
        self._set_state(model=name)

    def reembed(self, embed: Callable[[list[str]], np.ndarray], model: str) -> int:
        """Every chunk with vectors from another model. The new vectors go into a side collection that replaces
        the old one only when complete, so an interrupted run loses nothing (the next open cleans up)."""
        side_name = f"{self.settings.collection}_reembed"
        side = self._collection(side_name)
        n = 0
        batch: list[Chunk] = []
        for chunk, _ in self.iter_chunks():
            batch.append(chunk)
            if len(batch) >= 256:
                n += self._copy(side, batch, embed)
                batch = []
        n += self._copy(side, batch, embed)
        self._client.delete_collection(self.settings.collection)
        side.modify(name=self.settings.collection)
        self.chunks = self._collection(self.settings.collection)
        self.set_embedding_model(model)
        self.bump_generation()
        return n

    @staticmethod
    def _copy(target, chunks: list[Chunk], embed) -> int:
        if chunks:
            target.upsert(ids=[c.id for c in chunks], embeddings=embed([c.embed_text() for c in chunks]),
                          documents=[c.text for c in chunks], metadatas=[c.to_metadata() for c in chunks])
        return len(chunks)
