"""Learned boilerplate, the pure part: which lines of a story may be a source's furniture.

Signatures and promo lines ("تابعوا الموقع على ..." variants, a desk's sign-off) differ per
source and change over time, so no rule list can hold them; a line found verbatim in many
stories of one source is furniture. Counting lives in SQL (storage/learned.py); this
module decides which lines are candidates and how a line is keyed.
"""

from __future__ import annotations

import hashlib
from typing import Iterable

from crawler.text.arabic import normalize

MIN_CHARS = 12  # shorter lines ("المصدر") are left to the rules
MAX_CHARS = 300  # longer ones are paragraphs; a paragraph shared by many stories is quoting
MIN_WORDS = 2
DEFAULT_THRESHOLD = 5  # distinct stories of one source carrying the line


def line_key(line: str) -> str:
    """The form lines are compared in: normalised, so diacritics or hamza variants match."""
    return normalize(line)


def line_hash(line: str) -> str:
    return hashlib.sha256(line_key(line).encode("utf-8")).hexdigest()


def candidate_lines(text: str) -> dict[str, str]:
    """{hash: line} of the distinct lines of one story that could be boilerplate.

    Each line counts once per story, so a line repeated inside one story never looks
    like boilerplate on its own.
    """
    return candidates_of((raw, line_key(" ".join(raw.split()))) for raw in text.splitlines())


def candidates_of(lines: Iterable[tuple[str, str]]) -> dict[str, str]:
    """candidate_lines of paragraphs given with their key (normalised form), as the worker
    has them from cleaning: the main process then only counts them."""
    out: dict[str, str] = {}
    for raw, key in lines:
        if MIN_CHARS <= len(key) <= MAX_CHARS and len(key.split()) >= MIN_WORDS:
            out.setdefault(hashlib.sha256(key.encode("utf-8")).hexdigest(), " ".join(raw.split()))
    return out


def strip_learned(text: str, learned: set[str] | frozenset[str]) -> str:
    """Remove the learned lines (compared by key) from a text, keeping its paragraphs."""
    keys = {line_key(x) for x in learned}
    kept = [x for x in text.split("\n\n") if line_key(x) not in keys]
    return "\n\n".join(kept)
