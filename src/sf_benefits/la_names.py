"""LA names as the loader and the command line both match them: one key for the ways publishers
write a name."""

from __future__ import annotations


def la_name_key(text: str) -> str:
    """An LA name as publishers vary it: 'St. Helens' = 'St Helens', '&' = 'and', any case."""
    return " ".join(text.casefold().replace("&", " and ").replace(".", " ").split())
