"""What every public answer says about itself: the legal-information notice, and a pointer
to real help when a question describes someone's urgent situation."""

from __future__ import annotations

import re

NOTICE = {
    "en": "Legal information, not legal advice: these are quotes from published articles, "
    "which can be out of date or wrong for your situation.",
    "es": "Información legal, no asesoría legal: son citas de artículos publicados (en "
    "inglés), que pueden estar desactualizados o no aplicarse a su situación.",
}
URGENT = {
    "en": "If someone is detained or you face a deadline, contact a licensed immigration "
    "attorney or a nonprofit legal aid organization now.",
    "es": "Si alguien está detenido o tiene una fecha límite, comuníquese ahora con un "
    "abogado de inmigración con licencia o con una organización de ayuda legal sin fines "
    "de lucro.",
}
SOURCES_IN_ENGLISH = "Nuestras fuentes están en inglés; las citas se muestran tal como aparecen."
NOT_COVERED = {
    "en": "Our sources do not answer this question. They cover: {topics}.",
    "es": "Nuestras fuentes no responden a esta pregunta. Tratan de: {topics}.",
}
# An abstention names at most this many document titles, then how many more there are.
TOPICS_SHOWN = 12
MORE_TOPICS = {"en": "and {n} more", "es": "y {n} más"}

# A personal, time-critical situation: someone held, a deadline or hearing, removal.
_URGENT = re.compile(
    r"\b(?:detained|arrested|in custody|picked up|taken by ice|locked up|being deported|"
    r"deport(?:ed|ing) (?:today|tomorrow)|deadline|court date|hearing (?:is )?(?:today|tomorrow|"
    r"next)|urgent|emergency|right now|detenid[oa]s?|arrestad[oa]s?|se l[oa] llev[oó]|"
    r"fecha l[ií]mite|audiencia|urgente|emergencia|deportad[oa]s?)\b",
    re.IGNORECASE,
)


def is_urgent(question: str) -> bool:
    """Given a question, return whether it describes an urgent personal situation."""
    return _URGENT.search(question) is not None


def notice(language: str, urgent: bool) -> str:
    """Return the notice for an answer in the question's language."""
    lang = language if language in NOTICE else "en"
    parts = [NOTICE[lang]]
    if lang == "es":
        parts.append(SOURCES_IN_ENGLISH)
    if urgent:
        parts.append(URGENT[lang])
    return " ".join(parts)


def not_covered(language: str, topics: list[str]) -> str:
    """Return the abstention text, naming what the corpus does cover (the first
    TOPICS_SHOWN titles, and how many more)."""
    lang = language if language in NOT_COVERED else "en"
    shown = topics[:TOPICS_SHOWN]
    if len(topics) > TOPICS_SHOWN:
        shown = [*shown, MORE_TOPICS[lang].format(n=f"{len(topics) - TOPICS_SHOWN:,}")]
    return NOT_COVERED[lang].format(topics="; ".join(shown))


def covered(topics: list[str]) -> dict[str, str]:
    """Given the document titles, return the abstention text in each language, made once
    per generation rather than on every answer."""
    return {lang: not_covered(lang, topics) for lang in NOT_COVERED}
