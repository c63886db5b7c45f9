"""Learned boilerplate, the pure part: which lines of a story may be a source's furniture.

Signatures and promo lines ("تابعوا الموقع على ..." variants, a desk's sign-off) differ per
source and change over time, so no rule list can hold them; a line found verbatim in many
stories of one source is furniture. Counting lives in SQL (storage/learned.py); this
module decides which lines are candidates and how a line is keyed.
"""

from __future__ import annotations

import hashlib
import re
from typing import Iterable

from crawler.text.arabic import find_dates, normalize

MIN_CHARS = 12  # shorter lines ("المصدر") are left to the rules
MAX_CHARS = 300  # longer ones are paragraphs; a paragraph shared by many stories is quoting
MIN_WORDS = 2
DEFAULT_THRESHOLD = 5  # distinct stories of one source carrying the line


# Count words of view counters, in normalised form: "المشاهدات: 532", "قراءة 532 مرات".
COUNT_WORDS = (r"(?:القراءات|المشاهدات|الزيارات|قراءات|مشاهدات|زيارات|قراءه|مشاهده|زياره|مره|مرات|اصوات|صوت"
               r"|تعليق|تعليقات|views?|reads?|hits?|comments?)")
_COUNTED = re.compile(rf"\d[\d,.٬]*\s*{COUNT_WORDS}(?!\w)|(?<!\w){COUNT_WORDS}\s*:?\s*\d", re.I)
_WEEKDAYS = frozenset(normalize(w) for w in (
    "الأحد", "الاثنين", "الإثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت"))
_DIGITS = re.compile(r"\d+")


def line_key(line: str) -> str:
    """The form lines are compared in: normalised, so diacritics or hamza variants match,
    and by shape when the line carries a date or a counter: the date becomes "D", weekdays
    go and every number becomes 0, so "كتب: فلان | الأحد 5 نوفمبر 2023 | المشاهدات: 532"
    and the next story's line with another date and count are one line. A line without
    a date or a counter keeps its numbers ("الخبر رقم 3" and "رقم 4" stay two lines)."""
    norm = normalize(line, keep_punct=True)
    found = [f for f in find_dates(norm) if f.kind != "relative"]
    if not found and not _COUNTED.search(norm):
        return normalize(line)
    for f in sorted(found, key=lambda f: -f.start):
        norm = norm[:f.start] + " D " + norm[f.end:]
    words = [w for w in normalize(norm).split() if w not in _WEEKDAYS]
    return _DIGITS.sub("0", " ".join(words))


def line_hash(line: str) -> str:
    return hashlib.sha256(line_key(line).encode("utf-8")).hexdigest()


def candidate_lines(text: str) -> dict[str, str]:
    """{hash: line} of the distinct lines of one story that could be boilerplate.

    Each line counts once per story, so a line repeated inside one story never looks
    like boilerplate on its own.
    """
    return candidates_of((raw, normalize(raw)) for raw in text.splitlines())


def key_of(line: str, norm: str) -> str:
    """line_key of a line whose normalised form is known: a line without a digit carries no
    date or counter, so its key is that form (most lines; no date search for them)."""
    return line_key(line) if _DIGITS.search(norm) else norm


def candidates_of(lines: Iterable[tuple[str, str]]) -> dict[str, str]:
    """candidate_lines of paragraphs given with their normalised form, as the worker has
    them from cleaning: the main process then only counts them."""
    out: dict[str, str] = {}
    for raw, norm in lines:
        key = key_of(raw, norm)
        if MIN_CHARS <= len(key) <= MAX_CHARS and len(key.split()) >= MIN_WORDS:
            out.setdefault(hashlib.sha256(key.encode("utf-8")).hexdigest(), " ".join(raw.split()))
    return out


def strip_learned(text: str, learned: set[str] | frozenset[str]) -> str:
    """Remove the learned lines (compared by key) from a text, keeping its paragraphs."""
    keys = {line_key(x) for x in learned}
    kept = [x for x in text.split("\n\n") if line_key(x) not in keys]
    return "\n\n".join(kept)
