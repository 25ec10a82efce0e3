"""Language of a question, and Spanish-to-English query expansion from a domain glossary."""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from importlib import resources

# Below this confidence a question counts as English: short queries like "ICE" or
# "mandamus" are ambiguous and the corpus is English.
SPANISH_CONFIDENCE = 0.75
_WORDS = re.compile(r"[\w()]+")


@functools.cache
def _detector() -> object:
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.SPANISH).build()


def detect(text: str) -> str:
    """Given a question, return "es" when it is confidently Spanish, else "en"."""
    from lingua import Language

    detector = _detector()
    confidence = detector.compute_language_confidence(text, Language.SPANISH)  # type: ignore[attr-defined]
    return "es" if float(confidence) >= SPANISH_CONFIDENCE else "en"


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@functools.cache
def glossary() -> tuple[tuple[tuple[str, ...], str], ...]:
    """Return (folded Spanish phrase as words, English) pairs, longest phrase first."""
    raw = resources.files("service").joinpath("glossary_es.toml").read_text("utf-8")
    terms: dict[str, str] = tomllib.loads(raw)["terms"]
    pairs = [(tuple(_WORDS.findall(_fold(es))), en) for es, en in terms.items()]
    return tuple(sorted(pairs, key=lambda p: -len(p[0])))


def expand_spanish(question: str) -> str:
    """Given a Spanish question, return English search words for its known terms.

    Words the glossary does not know are kept when they look like names or numbers
    (ICE, Charleston, 2025), since those are the same in both languages.
    """
    words = _WORDS.findall(_fold(question))
    original = _WORDS.findall(question)
    out: list[str] = []
    i = 0
    while i < len(words):
        for phrase, english in glossary():
            if tuple(words[i : i + len(phrase)]) == phrase:
                out.append(english)
                i += len(phrase)
                break
        else:
            token = original[i] if i < len(original) else words[i]
            if any(ch.isdigit() for ch in token) or (token[:1].isupper() and i > 0):
                out.append(token)
            i += 1
    return " ".join(out)
