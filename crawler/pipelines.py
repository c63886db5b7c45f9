"""StorePipeline: the thin Scrapy glue between fetched pages and SQL.

Pages are collected into small batches that the worker pool extracts (CPU, every core);
extracted records are stored DEFNEWS_STORE_BATCH at a time, one transaction each, by one
writer on a thread (I/O). The reactor only moves bytes. Nothing here decides anything
about text: that is crawler/process.py and the modules it calls.

Flow control: at most ``max_inflight`` pool batches are queued or running. When the pool
is that far behind, ``process_item`` waits, Scrapy's scraper holds the response, and the
downloader stops fetching (SCRAPER_SLOT_MAX_ACTIVE_SIZE): pages fetched faster than they
can be extracted never pile up in memory, so a crawl's memory does not grow with its size.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Executor
from typing import Any

from scrapy import Spider
from scrapy.exceptions import DropItem

from sqlalchemy import select

from crawler.items import FeedMeta, Page
from crawler.process import Processed, SourceRules, process_batch
from crawler.relevance import THRESHOLD
from crawler.urls import canonical_url
from storage.boilerplate import learned_lines, record_lines
from storage.db import open_db, utcnow
from storage.feed_entries import seen_guids
from storage.rejections import (Rejected, forget_rejections, record_rejections,
                                still_rejected_guids, still_rejected_urls)
from storage.models import Story
from storage.runs import RunCounts, finish_run, start_run
from storage.stories import store_records

log = logging.getLogger(__name__)


class StorePipeline:
    def __init__(self, database: str, batch_size: int, stats: Any, crawler: Any = None, *,
                 pool_batch: int = 16, max_inflight: int = 0) -> None:
        self.crawler = crawler
        self.database = database
        self.batch_size = batch_size  # records per store transaction
        self.pool_batch = pool_batch  # pages per pool task
        self.max_inflight = max_inflight  # pool tasks queued or running; 0: 2 per worker
        self.stats = stats
        self.pending: list[Page] = []  # pages waiting for a pool batch
        self.counts = RunCounts()
        self.run_id: int | None = None
        self._inflight: set[asyncio.Future] = set()  # pool batches being extracted
        self._to_store: list[tuple[Page, Processed]] = []  # extracted, waiting for the writer
        self._writer: asyncio.Future | None = None
        self._closing = False

    @classmethod
    def from_crawler(cls, crawler: Any) -> "StorePipeline":
        s = crawler.settings
        return cls(s.get("DEFNEWS_DATABASE"), s.getint("DEFNEWS_STORE_BATCH", 100), crawler.stats, crawler,
                   pool_batch=s.getint("DEFNEWS_POOL_BATCH", 16), max_inflight=s.getint("DEFNEWS_POOL_INFLIGHT", 0))

    # -- lifecycle ----------------------------------------------------------------------
    # `spider` is optional: Scrapy >= 2.14 no longer passes it (the crawler knows it).
    def open_spider(self, spider: Spider | None = None) -> None:
        spider = spider or self.crawler.spider
        self.engine, self.factory = open_db(self.database)
        src = spider.source
        with self.factory() as session:
            learned = frozenset(learned_lines(session, src.name))
        threshold = src.relevance_threshold if src.relevance_threshold is not None else THRESHOLD
        self.rules = SourceRules(name=src.name, timezone=src.timezone,
                                 boilerplate=tuple(src.boilerplate), learned=learned,
                                 relevance_filter=src.relevance_filter, relevance_threshold=threshold,
                                 lexicon=self.crawler.settings.get("DEFNEWS_RELEVANCE_LEXICON")
                                 if self.crawler is not None else None)
        # A rejection holds while its score is below this; without the filter, none holds.
        self.reject_below = threshold if src.relevance_filter else 0.0
        self.pool: Executor | None = getattr(spider, "pool", None)
        if self.max_inflight <= 0:
            workers = getattr(self.pool, "_max_workers", 1) if self.pool is not None else 1
            self.max_inflight = 2 * workers  # one running and one queued per worker
        self.run_id = start_run(self.factory, src.name, src.url)
        spider.known_guids = self.known_guids
        spider.known_urls = self.known_urls

    async def close_spider(self, spider: Spider | None = None) -> None:
        spider = spider or self.crawler.spider
        await self._drain()
        c = self.counts
        c.failed += int(self.stats.get_value("defnews/failed", 0))
        c.skipped = int(self.stats.get_value("defnews/skipped_not_html", 0)) + int(
            self.stats.get_value("defnews/skipped_size", 0))
        c.errors.extend(getattr(spider, "seed_errors", []))
        # Scrapy sets finish_reason only after the pipelines closed; a crawl stopped by a
        # signal is no longer `crawling` by then.
        stopped = self.crawler is not None and not self.crawler.crawling
        seeds_ok = getattr(spider, "seeds_ok", 0)
        if stopped:
            status = "interrupted"
        elif seeds_ok == 0 and c.pages == 0 and getattr(spider, "seed_errors", None):
            status = "failed"
        else:
            status = "ok"
        for key in ("new", "duplicates", "exists", "rejected", "empty"):
            self.stats.set_value(f"defnews/{key}", getattr(c, key))
        self.stats.set_value("defnews/pages", c.pages)
        self.stats.set_value("defnews/failed_total", c.failed)
        self.stats.set_value("defnews/skipped", c.skipped)
        self.stats.set_value("defnews/status", status)
        if self.run_id is not None:
            await asyncio.to_thread(finish_run, self.factory, self.run_id, status, c)
        self.engine.dispose()

    def known_guids(self, entries: list[FeedMeta]) -> set[str]:
        """Feed entries already stored for this source, or rejected by the relevance filter
        with the entry unchanged and a score still below the threshold: not refetched."""
        with self.factory() as session:
            known = seen_guids(session, self.rules.name, [e.guid for e in entries])
            rest = {e.guid: e.signature() for e in entries if e.guid not in known}
            return known | still_rejected_guids(session, self.rules.name, rest, self.reject_below)

    def known_urls(self, urls: list[str]) -> set[str]:
        """Canonical URLs already stored, or rejected with a score still below the threshold:
        listing and sitemap links to them are not refetched."""
        wanted = sorted(set(urls))
        out: set[str] = set()
        with self.factory() as session:
            for i in range(0, len(wanted), 1000):
                out.update(session.scalars(select(Story.url).where(Story.url.in_(wanted[i:i + 1000]))))
            out |= still_rejected_urls(session, self.rules.name, set(wanted) - out, self.reject_below)
        return out

    # -- items --------------------------------------------------------------------------
    async def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        if not isinstance(item, Page):
            raise DropItem(f"not a Page: {type(item).__name__}")
        self.counts.pages += 1
        self.pending.append(item)
        if len(self.pending) >= self.pool_batch:
            self._submit()
        # Flow control (see the module docstring): wait while the pool is full, or while
        # the writer is three batches behind.
        while len(self._inflight) >= self.max_inflight:
            await asyncio.wait(self._inflight, return_when=asyncio.FIRST_COMPLETED)
        while self._writer is not None and len(self._to_store) >= 3 * self.batch_size:
            await asyncio.shield(self._writer)
        return None

    def _submit(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        task = asyncio.ensure_future(self._extract(batch))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _extract(self, batch: list[Page]) -> None:
        started = time.perf_counter()
        try:
            if self.pool is not None:
                loop = asyncio.get_running_loop()
                results = await loop.run_in_executor(self.pool, process_batch, batch, self.rules)
            else:
                results = await asyncio.to_thread(process_batch, batch, self.rules)
        except Exception as exc:  # a broken batch is reported, the crawl goes on
            self.counts.failed += len(batch)
            msg = f"source {self.rules.name}: a batch of {len(batch)} pages failed: {type(exc).__name__}: {exc}"
            self.counts.errors.append(msg)
            log.error(msg, exc_info=exc)
            return
        log.debug("source %s: %d pages extracted in %.2fs", self.rules.name, len(batch),
                  time.perf_counter() - started)
        for page in batch:
            page.body = b""  # the bytes are done with: only the record is kept
        self._to_store.extend(zip(batch, results))
        if len(self._to_store) >= self.batch_size:
            self._start_writer()

    def _start_writer(self) -> None:
        if self._writer is None:
            self._writer = asyncio.ensure_future(self._write())

    async def _write(self) -> None:
        """The one writer: stores full batches (and at the end what is left), in order."""
        try:
            while self._to_store and (self._closing or len(self._to_store) >= self.batch_size):
                chunk = self._to_store[:self.batch_size]
                del self._to_store[:self.batch_size]
                started = time.perf_counter()
                try:
                    await asyncio.to_thread(self._store, [p for p, _ in chunk], [r for _, r in chunk])
                except Exception as exc:  # reported; the next batch is tried
                    self.counts.failed += len(chunk)
                    msg = (f"source {self.rules.name}: storing a batch of {len(chunk)} pages failed: "
                           f"{type(exc).__name__}: {exc}")
                    self.counts.errors.append(msg)
                    log.error(msg, exc_info=exc)
                log.debug("source %s: %d pages stored in %.2fs", self.rules.name, len(chunk),
                          time.perf_counter() - started)
        finally:
            self._writer = None

    async def _drain(self) -> None:
        """At close: extract what is pending, wait for the pool, store everything left."""
        self._closing = True
        self._submit()
        while self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)
        while self._to_store or self._writer is not None:
            if self._writer is None:
                self._start_writer()
            await asyncio.gather(self._writer, return_exceptions=True)

    def _store(self, batch: list[Page], results: list[Processed]) -> None:
        records = []
        rejected: list[Rejected] = []
        for page, res in zip(batch, results):
            if res.status == "ok" and res.record is not None:
                records.append(res.record)
            elif res.status == "rejected":
                self.counts.rejected += 1
                if res.record is not None:
                    rejected.append(self._rejection(page, res))
            elif res.status == "empty":
                self.counts.empty += 1
                log.info("source %s: %s holds no article text", page.source, page.final_url)
            else:
                self.counts.failed += 1
                log.warning("source %s: extraction of %s failed: %s", page.source, page.final_url, res.error)

        def bookkeeping(session, outcomes) -> None:  # noqa: ANN001 - in store_records' transaction
            # Rejections are recorded (and stories stored after all are no longer
            # rejections); only new originals teach boilerplate: a republished story's
            # paragraphs recur across stories without being boilerplate.
            conn = session.connection()
            if rejected:
                record_rejections(conn, rejected, utcnow())
            stored = [r.url for r, o in zip(records, outcomes) if o.status != "exists"]
            if stored:
                forget_rejections(conn, self.rules.name, stored)
            texts = [r.text for r, o in zip(records, outcomes) if o.status == "new" and o.duplicate_of is None]
            if texts:
                record_lines(session, self.rules.name, texts)

        outcomes = store_records(self.factory, records, self.run_id, after=bookkeeping) \
            if records or rejected else []
        for o in outcomes:
            if o.status == "new":
                self.counts.new += 1
            elif o.status == "duplicate":
                self.counts.duplicates += 1
            else:
                self.counts.exists += 1
        self.stats.set_value("defnews/new", self.counts.new)

    def _rejection(self, page: Page, res: Processed) -> Rejected:
        rec = res.record
        feed = page.feed
        return Rejected(source=self.rules.name, url=rec.url, link=canonical_url(page.url),
                        title=rec.title, score=rec.relevance or 0.0,
                        threshold=self.rules.relevance_threshold,
                        guid=feed.guid if feed is not None and feed.guid else None,
                        entry=feed.signature() if feed is not None and feed.guid else None)
