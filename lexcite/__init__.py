"""lexcite: legal Q&A that answers only with cited, verbatim sentences from its sources."""
