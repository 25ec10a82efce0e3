"""Hypothesis strategies for raw documents: words, punctuation, bullets and odd unicode."""

from __future__ import annotations

from hypothesis import strategies as st

WORDS = st.sampled_from(
    "mandamus writ court agency the a of and 287(g) ICE U.S. Dr. No. e.g. i.e. café naïve "
    "Straße señor 2025 $300 Charleston four-week it’s don’t “quoted” 'single' (aside) x y".split()
) | st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=8)
PUNCT = st.sampled_from([*".,;:!?…\"'“”‘’()-–—/&%", "...", "?!", " ,", " ."])
# Invisible characters, flags, combining marks and odd spaces that cleaning must handle.
ODD = st.sampled_from(
    [
        "\u200b", "\u200d", "\u200e", "\ufeff", "\u202e", "\u2066", "\u2069", "\u00ad",
        "\u00a0", "\t", "\u2003", "\u0301", "\u0308", "🇺🇸", "🇪🇸", "😀", "→", "·",
    ]
)  # fmt: skip
BULLETS = st.sampled_from(["", "", "", "• ", "- ", "* ", "– ", "1. ", "12) ", "  • "])


@st.composite
def raw_lines(draw: st.DrawFn) -> str:
    """One raw line: an optional bullet, then words, punctuation and odd characters."""
    tokens = draw(st.lists(st.one_of(WORDS, WORDS, WORDS, PUNCT, ODD), max_size=30))
    line = ""
    for token in tokens:
        glue = draw(st.sampled_from([" ", " ", " ", "", "  "]))
        line += glue + token
    return draw(BULLETS) + line


@st.composite
def raw_documents(draw: st.DrawFn) -> str:
    """A raw text document: lines of `raw_lines`, sometimes separated by blank lines."""
    lines = draw(st.lists(raw_lines(), min_size=1, max_size=14))
    out = []
    for line in lines:
        out.append(line)
        if draw(st.booleans()):
            out.append("")
    return "\n".join(out)
