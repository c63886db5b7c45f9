"""The CPU-bound part of handling one page, as one picklable call for the process pool.

Extraction, cleaning, dates, relevance, dedup keys and the learned-boilerplate candidates
all run here, in a worker process, on the normalised text cleaning already computed, so
the reactor thread only moves bytes and the SQL thread only writes.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from crawler.items import Page, Processed, SourceRules
from crawler.text.extract import extract
from crawler.text.fingerprints import dedup_keys
from crawler.text.folding import search_forms
from crawler.text.learned import candidates_of

log = logging.getLogger(__name__)

__all__ = ["Processed", "SourceRules", "process_batch", "process_page", "warm_up"]


def process_page(page: Page, rules: SourceRules) -> Processed:
    """One page with its source's rules. A kept record carries its dedup keys
    (``extra["dedup"]``), its learned-boilerplate candidates (``extra["lines"]``,
    {hash: line}) and its folded search forms (``extra["search"]``), so the main process
    only stores and counts."""
    try:
        out = extract(page, rules)
    except Exception as exc:  # one bad page must never stop a crawl
        return Processed("error", error=f"{type(exc).__name__}: {exc}")
    if out is None:
        return Processed("empty")
    record = out.record
    record.etag, record.last_modified = page.etag, page.last_modified
    # extract scored relevance on the normalised text with rules.lexicon (the user's layer).
    if rules.relevance_filter and (record.relevance or 0.0) < rules.relevance_threshold:
        return Processed("rejected", record)
    record.extra["dedup"] = dedup_keys(record.title, record.text, norm_title=out.norm_title,
                                       norm_text=out.norm_text)
    record.extra["lines"] = candidates_of(out.lines)
    record.extra["search"] = search_forms(record.title, record.text, out.norm_title,
                                          (n for _, n in out.lines))
    return Processed("ok", record)


def process_batch(pages: list[Page], rules: SourceRules) -> list[Processed]:
    return [process_page(p, rules) for p in pages]


_WARM_UP_PAGE = (
    "<html lang='ar'><head><title>تجربة</title></head><body><article><h1>تجربة</h1>"
    + "<p>أعلنت وزارة الدفاع عن مناورة عسكرية مشتركة للقوات البحرية والجوية في المنطقة.</p>" * 4
    + "</article></body></html>"
).encode()


def warm_up() -> None:
    """Load what the first page would load (trafilatura, dedup hashing) while the crawl is
    still fetching, so the first batch is not slower than the rest."""
    process_page(Page("warm-up", "http://warm.up/a", "http://warm.up/a", _WARM_UP_PAGE, "utf-8",
                      datetime.now(timezone.utc)), SourceRules("warm-up"))
