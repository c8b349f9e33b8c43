"""The programme's words (corpus/domain.toml): the words every passage shares, the refusal sentence, the
brief's title and default topics, the chat's starters. Data, so another programme's team edits a file, not code.

Code takes the domain from the settings it is given (`settings.domain`); a file is read once per path.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

from kb.errors import ConfigError
from kb.text.terms import stems

DOMAIN_NAME = "domain.toml"  # ingest skips files of this name: they are settings, not documents
_FIX = "fix it (corpus/domain.toml shows every key) or set HRTP_DOMAIN to another file"


@dataclass(frozen=True)
class Domain:
    path: Path
    shared: frozenset[str]  # stems of the words every passage shares; questions are matched on the others
    refusal: str  # the first sentence of every refusal
    empty_question: str
    brief_title: str
    session: str  # the session a brief prepares ("HRTP 101")
    topics: tuple[tuple[str, str], ...]  # the brief's default topics: (label, the wording it is retrieved by)
    chat_title: str
    chat_intro: str
    placeholder: str
    warm_up: str  # the question the chat asks itself at start
    starters: tuple[tuple[str, tuple[str, ...]], ...]  # (group label, its starter questions)

    @property
    def topic_queries(self) -> dict[str, str]:
        return dict(self.topics)

    @property
    def default_topics(self) -> tuple[str, ...]:
        return tuple(label for label, _ in self.topics)


def load_domain(path: Path | str) -> Domain:
    """The domain in the TOML file at `path`; `ConfigError` (one line naming the file) when it cannot be used."""
    return _load(Path(path).expanduser().resolve())


@functools.lru_cache(maxsize=8)
def _load(path: Path) -> Domain:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: the programme's words file does not exist; set HRTP_DOMAIN to a domain.toml "
                          "(corpus/domain.toml is the bundled one)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the programme's words ({getattr(exc, 'strerror', None) or exc}); "
                          f"{_FIX}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); {_FIX}") from None
    get = _Reader(path, data)
    return Domain(
        path=path,
        shared=frozenset(stems(get.text("shared_words"))),
        refusal=get.text("answers", "refusal"),
        empty_question=get.text("answers", "empty_question"),
        brief_title=get.text("brief", "title"),
        session=get.text("brief", "session"),
        topics=tuple((label, get.text("brief", "topics", label)) for label in get.table("brief", "topics")),
        chat_title=get.text("chat", "title"),
        chat_intro=get.text("chat", "intro"),
        placeholder=get.text("chat", "placeholder"),
        warm_up=get.text("chat", "warm_up"),
        starters=tuple((group, get.texts("chat", "starters", group)) for group in get.table("chat", "starters")),
    )


class _Reader:
    """Typed values out of the parsed file; a missing or mistyped key is a `ConfigError` naming it."""

    def __init__(self, path: Path, data: dict) -> None:
        self.path, self.data = path, data

    def _value(self, keys: tuple[str, ...], kind: type, what: str) -> object:
        value: object = self.data
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        ok = isinstance(value, kind) and bool(value)
        if ok and isinstance(value, list):
            ok = all(isinstance(v, str) and v for v in value)
        if not ok:
            name = ".".join(f'"{k}"' if " " in k else k for k in keys)
            raise ConfigError(f"{self.path}: {name} must be {what}; {_FIX}")
        return value

    def text(self, *keys: str) -> str:
        return self._value(keys, str, "a non-empty string")  # type: ignore[return-value]

    def table(self, *keys: str) -> dict:
        return self._value(keys, dict, "a table with at least one entry")  # type: ignore[return-value]

    def texts(self, *keys: str) -> tuple[str, ...]:
        return tuple(self._value(keys, list, "a list of non-empty strings"))  # type: ignore[arg-type]
