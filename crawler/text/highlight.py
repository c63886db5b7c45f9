"""Where a search's words are in a story as published: highlighting and snippets.

The index matches folded text (storage/search.py); the reader shows the text as
published, with its diacritics and spelling. ``fold_map`` folds a text character by
character the way crawler.text.arabic.normalize folds it, remembering for every folded
character the published one it came from, so a match found in the folded text is marked
on the published one ("اسرائيل" highlights "إسرائيل", "القوات" highlights "القُوّات").
Pure functions: no I/O.
"""

from __future__ import annotations

import re
from functools import lru_cache

from crawler.text.arabic import normalize

_WORD = re.compile(r"\w+")
#: A search term ending in "*" matches as a word prefix ("صاروخ*" finds "صاروخية") when
#: it has at least this many letters (a two-letter prefix would match half the archive);
#: other terms match whole words. The index side (storage/search.py) follows the same rule.
PREFIX_FROM = 3


def term_matches(word: str, term: str) -> bool:
    """Whether a folded word of the text is matched by a folded search term."""
    return word.startswith(term[:-1]) if term.endswith("*") else word == term


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    """One character folded: "" for marks normalize drops (diacritics, tatweel, zero
    width), " " for punctuation and space, else its folded form."""
    folded = normalize(ch)
    if folded:
        return folded
    return " " if (ch.isspace() or not ch.isalnum() and normalize("a" + ch + "a") == "a a") else ""


def fold_map(text: str) -> tuple[str, list[int]]:
    """The folded text and, per folded character, the index of its published character."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for f in _fold_char(ch):
            out.append(f)
            where.append(i)
    return "".join(out), where


def match_spans(text: str, terms: list[str]) -> list[tuple[int, int]]:
    """(start, end) in ``text`` of the words that start with a search term (the index
    matches terms as word prefixes), merged and in order."""
    if not terms or not text:
        return []
    folded, where = fold_map(text)
    spans: list[tuple[int, int]] = []
    for word in _WORD.finditer(folded):
        if any(term_matches(word.group(), t) for t in terms):
            start = where[word.start()]
            end = where[word.end() - 1] + 1
            while end < len(text) and _fold_char(text[end]) == "":  # trailing marks
                end += 1
            spans.append((start, end))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


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
