"""The lexcite benchmark suite: lexcite against the usual LangChain pipeline, side by side
in one run (`python -m bench`), and index scaling on synthetic corpora (bench/scale.py).

Each measured system runs in its own process, so cold starts include its imports and
model load and each peak memory figure is that process's own. See bench/README.md.
"""
