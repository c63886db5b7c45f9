"""Where a search's words are in a story as published: highlighting and snippets.

The index matches folded text (storage/search.py); the reader shows the text as
published, with its diacritics and spelling. ``fold_aligned`` folds a text the way
crawler.text.arabic.normalize does, but character for character: a mark normalize drops
(diacritic, tatweel, zero-width) becomes a NUL instead of vanishing, so every position
in the folded text is the same position in the published one. The search terms become
one regular expression that lets NULs sit between letters, so a match found in the
folded text is marked on the published one ("اسرائيل" highlights "إسرائيل", "القوات"
highlights "القُوّات"), at the speed of ``str.translate`` and ``re``. Pure functions.
"""

from __future__ import annotations

import re
from functools import lru_cache

from crawler.text.arabic import normalize

#: A search term ending in "*" matches as a word prefix ("صاروخ*" finds "صاروخية") when
#: it has at least this many letters (a two-letter prefix would match half the archive);
#: other terms match whole words. The index side (storage/search.py) follows the same rule.
PREFIX_FROM = 3
_GAP = "\x00"  # stands for a dropped mark in the aligned folding


def term_matches(word: str, term: str) -> bool:
    """Whether a folded word of the text is matched by a folded search term."""
    return word.startswith(term[:-1]) if term.endswith("*") else word == term


def _fold_char(ch: str) -> str:
    """One character folded to one: _GAP for marks normalize drops (diacritics, tatweel,
    zero width), " " for punctuation and space, else its folded form."""
    folded = normalize(ch)
    if folded:
        return folded[0]  # lower() can lengthen a few Latin letters; the first one is enough
    return " " if (ch.isspace() or not ch.isalnum() and normalize("a" + ch + "a") == "a a") else _GAP


class _Table(dict):
    """str.translate table filled on first sight of each character."""

    def __missing__(self, code: int) -> str:
        value = self[code] = _fold_char(chr(code))
        return value


_TABLE = _Table()


def fold_aligned(text: str) -> str:
    """``text`` folded for matching, one character for one (see the module docstring)."""
    return text.translate(_TABLE)


@lru_cache(maxsize=256)
def _pattern(terms: tuple[str, ...]) -> re.Pattern | None:
    alternatives = []
    for t in sorted(terms, key=len, reverse=True):
        prefix = t.endswith("*")
        letters = t.rstrip("*")
        if not letters:
            continue
        body = (_GAP + "*").join(re.escape(c) for c in letters)
        tail = rf"[\w{_GAP}]*" if prefix else rf"{_GAP}*+(?!\w)"
        alternatives.append(body + tail)
    if not alternatives:
        return None
    return re.compile(rf"(?<![\w{_GAP}])(?:{'|'.join(alternatives)})")


def match_spans(text: str, terms: list[str]) -> list[tuple[int, int]]:
    """(start, end) in ``text`` of the words a search's terms match, in order."""
    pattern = _pattern(tuple(terms)) if terms and text else None
    if pattern is None:
        return []
    return [m.span() for m in pattern.finditer(fold_aligned(text))]


def segments(text: str, terms: list[str]) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, is_match) for a template to mark up (and escape)."""
    out: list[tuple[str, bool]] = []
    pos = 0
    for s, e in match_spans(text, terms):
        if s > pos:
            out.append((text[pos:s], False))
        out.append((text[s:e], True))
        pos = e
    if pos < len(text) or not out:
        out.append((text[pos:], False))
    return out


def first_lines(text: str, limit: int = 280) -> str:
    """The opening of a story for a list: its first paragraph, cut at a word near
    ``limit`` characters."""
    para = next((p.strip() for p in re.split(r"\n\s*\n", text or "") if p.strip()), "")
    para = " ".join(para.split())
    if len(para) <= limit:
        return para
    cut = para.rfind(" ", 0, limit)
    return para[:cut if cut > limit // 2 else limit].rstrip(" ،,.؛") + "…"


def snippet(text: str, terms: list[str], limit: int = 280) -> str:
    """The opening of ``text`` when a search term is in it, else the passage around the
    first match (so a result shows why it matched)."""
    lead = first_lines(text, limit)
    if not terms or match_spans(lead, terms):
        return lead
    flat = " ".join((text or "").split())
    spans = match_spans(flat, terms)
    if not spans:
        return lead
    start = flat.rfind(" ", 0, max(0, spans[0][0] - limit // 3)) + 1
    return ("…" if start > 0 else "") + first_lines(flat[start:start + limit + 40], limit)
