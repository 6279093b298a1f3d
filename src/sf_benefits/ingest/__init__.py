"""ingest engine."""
