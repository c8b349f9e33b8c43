"""The exception tree. Every message says what went wrong and how to fix it.

    KBError                      anything the CLI turns into one line and a non-zero exit
    ├── ConfigError              a setting or argument that cannot work (bad path, bad URL, missing model)
    ├── StoreError               the index cannot be opened or written (Chroma down, disk, locked)
    │   └── IngestLockedError    another `hrtp ingest` holds the store's lock
    ├── EmptyStoreError          asking before anything was ingested
    ├── DocumentNotFoundError    a document filter names no ingested document
    └── LoadError                one file cannot be read; ingest records it and goes on with the others
"""


class KBError(Exception):
    exit_code = 2


class ConfigError(KBError):
    pass


class StoreError(KBError):
    pass


class IngestLockedError(StoreError):
    pass


class EmptyStoreError(KBError):
    def __init__(self, store: str) -> None:
        super().__init__(
            f"The knowledge base at {store} is empty. Run `hrtp ingest` (bundled corpus) or "
            "`hrtp ingest PATH` first."
        )


class DocumentNotFoundError(KBError):
    def __init__(self, names: list[str]) -> None:
        said = ", ".join(repr(n) for n in names)
        super().__init__(f"No ingested document has the title or path {said}; `hrtp status` lists the "
                         "documents' titles.")
        self.names = names


class LoadError(KBError):
    """A file that cannot be ingested; `reason` is written for a person."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
