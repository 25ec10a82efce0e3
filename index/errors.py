"""Errors of the index stage."""


class IndexError_(Exception):
    """Base class: the index cannot be built, loaded or searched."""


class NoIndex(IndexError_):
    """No index generation has been published yet (run `lexcite ingest`)."""


class CorruptIndex(IndexError_):
    """A generation's files do not match the checksums in its manifest."""


class IndexMismatch(IndexError_):
    """A generation was built with another model or format than the one configured."""


class ModelUnavailable(IndexError_):
    """The embedding model cannot be loaded from the configured path or name."""


class Busy(IndexError_):
    """Another ingest holds the index lock."""
