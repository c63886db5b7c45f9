"""The searchable form of a story: its headline and text folded for full-text search.

Pure and shared by both sides of a search: storage/search.py folds queries and writes the
``search_title`` / ``search_body`` columns with ``fold``; the pool worker computes a
story's folded forms from the normalised lines cleaning already produced (``search_forms``),
so the main process, which stores every story, does not normalise each text a second time
(it was a tenth of its CPU in a crawl, bench/README.md).
"""

from __future__ import annotations

from typing import Iterable

from crawler.text.arabic import normalize

#: A tsvector is limited to 1 MB; no news story's body comes near this many characters,
#: but a mis-extracted page could, and it must not make storing the story fail.
MAX_SEARCH_CHARS = 200_000


def fold(text: str | None) -> str:
    """The searchable form of a text: the spelling variants folded, punctuation gone."""
    return normalize((text or "")[:MAX_SEARCH_CHARS])


def search_forms(title: str, text: str, norm_title: str,
                 norm_lines: Iterable[str]) -> tuple[str, str]:
    """(fold(title), fold(text)) from forms already computed: ``norm_title`` is
    normalize(title) and ``norm_lines`` normalize() of each paragraph of ``text``.

    normalize works line by line (nothing it folds crosses a line break) and collapses
    whitespace, so the text's form is its paragraphs' forms joined by a space; a text
    longer than the search limit is cut first, as ``fold`` does, and folded again.
    """
    body = (" ".join(n for n in norm_lines if n) if len(text) <= MAX_SEARCH_CHARS
            else fold(text))
    head = norm_title if len(title) <= MAX_SEARCH_CHARS else fold(title)
    return head, body
