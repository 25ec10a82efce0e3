"""Errors of the ingest stage."""


class IngestError(Exception):
    """Base class: something in the corpus cannot be ingested."""


class BadDocument(IngestError):
    """A file that cannot be read as a document (binary, empty, not UTF-8, too large)."""


class ManifestError(IngestError):
    """The corpus manifest is missing, malformed or names a file that is not there."""
