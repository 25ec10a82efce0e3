"""Ingest: read raw articles, clean them, find their structure and cut them into chunks."""
