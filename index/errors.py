"""Errors of the index stage."""


class IndexStageError(Exception):
    """Base class: the index cannot be built, loaded or searched."""


class NoIndex(IndexStageError):
    """No index generation has been published yet (run `lexcite ingest`)."""


class CorruptIndex(IndexStageError):
    """A generation's files do not match the checksums in its manifest."""


class IndexMismatch(IndexStageError):
    """A generation was built with another model or format than the one configured."""


class ModelUnavailable(IndexStageError):
    """The embedding model cannot be loaded from the configured path or name."""


class Busy(IndexStageError):
    """Another ingest holds the index lock."""
