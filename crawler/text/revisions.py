"""Versions of one story: is a re-fetched page the same story, a correction, or worse?

News sites correct headlines and text after publishing; a crawl re-checks recent stories
(storage/corrections.py) and these pure functions judge what came back. Two versions are
compared on their normalised words (crawler.text.fingerprints.words: diacritics, tatweel,
letter forms and punctuation folded), so a re-rendered page with the same wording is not
a correction, while one changed word or number is.
"""

from __future__ import annotations

import hashlib

from crawler.defaults import RECHECK_MIN_TEXT_RATIO
from crawler.text.fingerprints import words


def version_hash(title: str, text: str, *, norm_text: str | None = None) -> str:
    """SHA-256 of the normalised headline and text of one version of a page.

    Stored with the story (``stories.page_hash``) from the page's *own* headline (not a
    feed's, which may differ from the page's and would make every re-check look like a
    correction), so a re-check, which has no feed entry, compares like with like.
    ``norm_text``: ``normalize(text)``, when the caller has it (the worker has it from
    cleaning): its words are the text's words, so the text is not normalised again.
    """
    body = " ".join(norm_text.split()) if norm_text is not None else " ".join(words(text))
    key = " ".join(words(title)) + "\n" + body
    return hashlib.sha256(key.encode()).hexdigest()


def is_degraded(stored_text: str, new_text: str, min_ratio: float = RECHECK_MIN_TEXT_RATIO) -> bool:
    """True when the new text keeps less than ``min_ratio`` of the stored text's words.

    A story corrected by its publisher keeps most of its words; a page that now yields a
    fraction of them is more likely a broken template, a paywall or a "this story was
    removed" stub, and must not replace a good stored version.
    """
    old = len(words(stored_text))
    return old > 0 and len(words(new_text)) < min_ratio * old
