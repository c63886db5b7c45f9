"""The CPU-bound part of handling one page, as one picklable call for the process pool.

Extraction, cleaning, dates, relevance and dedup keys all run here, in a worker process,
so the reactor thread only moves bytes and the SQL thread only writes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from crawler.text.fingerprints import dedup_keys
from crawler.text.extract import extract_record
from crawler.text.relevance import THRESHOLD, score
from crawler.items import Page, Record

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceRules:
    """The per-source settings extraction needs (picklable, sent with every batch)."""

    name: str
    timezone: str = "UTC"
    boilerplate: tuple[str, ...] = ()
    learned: frozenset[str] = frozenset()
    relevance_filter: bool = False


@dataclass
class Processed:
    status: str  # "ok" | "empty" | "rejected" | "error"
    record: Record | None = None
    error: str = ""


def process_page(page: Page, rules: SourceRules) -> Processed:
    try:
        record = extract_record(
            page.body, page.url, source=rules.name, final_url=page.final_url,
            encoding=page.encoding, feed=page.feed, fetched_at=page.fetched_at,
            timezone_name=rules.timezone, boilerplate=rules.boilerplate, learned=rules.learned,
        )
    except Exception as exc:  # one bad page must never stop a crawl
        return Processed("error", error=f"{type(exc).__name__}: {exc}")
    if record is None:
        return Processed("empty")
    if rules.relevance_filter:
        relevance = record.relevance if record.relevance is not None else score(record.title, record.text)
        if relevance < THRESHOLD:
            return Processed("rejected", record)
    record.extra["dedup"] = dedup_keys(record.title, record.text)
    return Processed("ok", record)


def process_batch(pages: list[Page], rules: SourceRules) -> list[Processed]:
    return [process_page(p, rules) for p in pages]


_WARM_UP_PAGE = (
    "<html lang='ar'><head><title>تجربة</title></head><body><article><h1>تجربة</h1>"
    + "<p>أعلنت وزارة الدفاع عن مناورة عسكرية مشتركة للقوات البحرية والجوية في المنطقة.</p>" * 4
    + "</article></body></html>"
).encode()


def warm_up() -> None:
    """Load what the first page would load (trafilatura, language model, dedup hashing)
    while the crawl is still fetching, so the first batch is not slower than the rest."""
    from datetime import datetime, timezone

    process_page(Page("warm-up", "http://warm.up/a", "http://warm.up/a", _WARM_UP_PAGE, "utf-8",
                      datetime.now(timezone.utc)), SourceRules("warm-up"))
