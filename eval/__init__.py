"""Eval: measure grounding, citations, abstention and retrieval against a question set."""
