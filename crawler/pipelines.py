"""StorePipeline: the thin Scrapy glue between fetched pages and SQL.

Pages are collected into small batches that the worker pool extracts (CPU, every core);
extracted records are stored DEFNEWS_STORE_BATCH at a time, one transaction each, by one
writer on a thread (I/O). The reactor only moves bytes. Nothing here decides anything
about text: that is crawler/text/page.py and the modules it calls; nothing here writes
SQL: storage/ does, one transaction per stored batch.

Flow control: at most ``max_inflight`` pool batches are queued or running. When the pool
is that far behind, ``process_item`` waits, Scrapy's scraper holds the response, and the
downloader stops fetching (SCRAPER_SLOT_MAX_ACTIVE_SIZE): pages fetched faster than they
can be extracted never pile up in memory, so a crawl's memory does not grow with its size.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from concurrent.futures import Executor
from typing import Any

from scrapy import Spider
from scrapy.exceptions import DropItem

from crawler import defaults
from crawler.frontier import frontier_of, signals as frontier_signals
from crawler.frontier.run import combined_status
from crawler.items import Page, Processed, Record, RunCounts
from crawler.pool import extract_batch
from crawler.text.relevance import default_lexicon
from crawler.urls import canonical_url
from storage.corrections import apply_corrections
from storage.db import open_db
from storage.learned import learned_rules
from storage.rejections import Rejected
from storage.runs import finish_run, start_run
from storage.stories import store_records

log = logging.getLogger(__name__)


def _by_kind(stats: dict, prefix: str) -> dict[str, int]:
    """{"bad link": 3, ...} from the stats the spider counted under ``prefix``."""
    return {k[len(prefix):]: int(v) for k, v in sorted(stats.items()) if k.startswith(prefix)}


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
        self.store_failures = 0  # batches the database refused (a restart, a full disk)
        self._flushing = False  # store partial batches now (the frontier has nothing to hand out)
        self.frontier: Any = None  # the shared Redis frontier, when there is one

    @classmethod
    def from_crawler(cls, crawler: Any) -> "StorePipeline":
        s = crawler.settings
        pipeline = cls(s.get("DEFNEWS_DATABASE"), s.getint("DEFNEWS_STORE_BATCH", defaults.STORE_BATCH),
                       crawler.stats, crawler, pool_batch=s.getint("DEFNEWS_POOL_BATCH", defaults.POOL_BATCH),
                       max_inflight=s.getint("DEFNEWS_POOL_INFLIGHT", defaults.POOL_INFLIGHT))
        crawler.signals.connect(pipeline.flush, signal=frontier_signals.starved)
        return pipeline

    # -- lifecycle ----------------------------------------------------------------------
    # `spider` is optional: Scrapy >= 2.14 no longer passes it (the crawler knows it).
    def open_spider(self, spider: Spider | None = None) -> None:
        spider = spider or self.crawler.spider
        self.engine, self.factory = open_db(self.database)
        src = spider.source
        self.rules = src.rules(frozenset(learned_rules(self.factory, src.name)),
                               lexicon=self.crawler.settings.get("DEFNEWS_RELEVANCE_LEXICON")
                               if self.crawler is not None else None)
        # The runner's process pool, shared by every crawler of this process (settings
        # carry it: see crawler.runner.SharedPool); without one, pages are extracted on a
        # thread.
        shared = self.crawler.settings.get("DEFNEWS_POOL") if self.crawler is not None else None
        self.pool: Executor | None = shared.pool if shared is not None else None
        if self.max_inflight <= 0:
            workers = getattr(self.pool, "_max_workers", 1) if self.pool is not None else 1
            self.max_inflight = 2 * workers  # one running and one queued per worker
        self.counts.source = src.name
        self.frontier = frontier_of(self.crawler) if self.crawler is not None else None
        if self.frontier is not None:  # one record for the run, whichever worker creates it
            self.run_id = self.frontier.record_id(lambda: start_run(self.factory, src.name, src.url))
        else:
            self.run_id = start_run(self.factory, src.name, src.url)
        self.counts.run_id = self.run_id

    async def close_spider(self, spider: Spider | None = None) -> None:
        spider = spider or self.crawler.spider
        await self._drain()
        c = self.counts
        c.failed += int(self.stats.get_value("defnews/failed", 0))
        # Every kind of drop the spider counted (bad link, off-site, redirect loop, ...).
        stats = self.stats.get_stats()
        c.skips = _by_kind(stats, "defnews/skip/")
        c.failures = _by_kind(stats, "defnews/fail/")
        c.skipped = sum(c.skips.values())
        c.warnings = list(self.stats.get_value("defnews/warnings", []))
        started = stats.get("start_time")
        if isinstance(started, datetime):
            c.seconds = (datetime.now(started.tzinfo) - started).total_seconds()
        seed_errors = list(self.stats.get_value("defnews/seed_errors", []))
        c.errors.extend(seed_errors)
        # Scrapy sets finish_reason only after the pipelines closed; a crawl stopped by a
        # signal is no longer `crawling` by then.
        stopped = self.crawler is not None and not self.crawler.crawling
        seeds_ok = int(self.stats.get_value("defnews/seeds_ok", 0))
        if stopped:
            c.status = "interrupted"
        elif (seeds_ok == 0 and c.pages == 0 and seed_errors) or self.store_failures \
                or self.stats.get_value("defnews/database_lost"):
            c.status = "failed"  # pages fetched but not stored: the run must not look ok
        else:
            c.status = "ok"
        c.failed += int(self.stats.get_value("defnews/seed_failed", 0))
        c.requests = int(self.stats.get_value("downloader/request_count", 0))
        status, last, workers = c.status, True, None
        if self.frontier is not None:  # leave the shared run; the last worker closes it
            left = self.frontier.leave(c.status, {"pages": c.pages, "new": c.new})
            last, workers = left.last, left.workers
            if left.last:
                status = combined_status(list(left.statuses.values()))
            if self.frontier.lost:  # Redis lost the run: what was queued is gone
                c.errors.append(f"source {self.rules.name}: {self.frontier.lost}; this worker stopped")
                c.status = status = "interrupted"
                c.aborted = True
        # The runner reads the counts back from the stats: the one object, not copies.
        self.stats.set_value("defnews/counts", c)
        self.stats.set_value("defnews/new", c.new)
        if self.run_id is not None:
            try:
                await asyncio.to_thread(finish_run, self.factory, self.run_id, status, c, last=last,
                                        workers=workers)
            except Exception as exc:  # the database is away: the summary still tells
                c.status = "failed"
                msg = (f"source {self.rules.name}: the run record was not written: "
                       f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
                c.errors.append(msg)
                log.error(msg)
        self.engine.dispose()

    # -- items --------------------------------------------------------------------------
    async def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        if not isinstance(item, Page):
            raise DropItem(f"not a Page: {type(item).__name__}")
        self.counts.pages += 1
        self._flushing = False
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
                results = await loop.run_in_executor(self.pool, extract_batch, batch, self.rules)
            else:
                results = await asyncio.to_thread(extract_batch, batch, self.rules)
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
        if len(self._to_store) >= self.batch_size or self._flushing:
            self._start_writer()

    def flush(self) -> None:
        """The shared frontier has nothing to hand out: extract and store what is held now,
        since the leases of these pages keep other workers waiting until they are stored."""
        if self._closing or not (self.pending or self._to_store):
            return
        self._flushing = True
        self._submit()
        if self._to_store:
            self._start_writer()

    def _start_writer(self) -> None:
        if self._writer is None:
            self._writer = asyncio.ensure_future(self._write())

    async def _write(self) -> None:
        """The one writer: stores full batches (and at the end what is left), in order."""
        try:
            while self._to_store and (self._closing or self._flushing or len(self._to_store) >= self.batch_size):
                chunk = self._to_store[:self.batch_size]
                del self._to_store[:self.batch_size]
                started = time.perf_counter()
                try:
                    await asyncio.to_thread(self._store, [p for p, _ in chunk], [r for _, r in chunk])
                    if self.frontier is not None:  # stored: these requests are finished
                        self.frontier.ack([p.lease for p, _ in chunk if p.lease])
                except Exception as exc:  # reported; the next batch is tried (and, with a
                    # shared frontier, these pages' requests go back to the queue)
                    self.counts.failed += len(chunk)
                    self.store_failures += 1
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
        """One stored batch, one transaction (storage.stories.store_records): the stories,
        their dedup bands, the rejections and the learned-boilerplate counts."""
        records = []
        rejected: list[Rejected] = []
        corrections: list[tuple[int, Record]] = []
        for page, res in zip(batch, results):
            if page.recheck_of is not None:
                # A stored story fetched again: compared and updated in place, never stored
                # anew; the relevance filter decided when it was first stored.
                if res.record is not None and res.status in ("ok", "rejected"):
                    corrections.append((page.recheck_of, res.record))
                else:
                    self.counts.recheck_kept += 1
                    log.info("source %s: re-check of %s found no article text (%s): stored version kept",
                             page.source, page.final_url, res.error or res.status)
                continue
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
        outcomes = store_records(self.factory, records, self.run_id, rejected=rejected,
                                 learn_source=self.rules.name)
        for o in outcomes:
            if o.status == "new":
                self.counts.new += 1
            elif o.status == "duplicate":
                self.counts.duplicates += 1
            else:
                self.counts.exists += 1
        self.stats.set_value("defnews/new", self.counts.new)
        if corrections:
            self._correct(corrections)

    def _rejection(self, page: Page, res: Processed) -> Rejected:
        """What is kept of a rejected story: enough to audit it and to know when to fetch
        it again (crawler.config.SourceConfig.reject_below), no text."""
        rec, feed = res.record, page.feed
        entry = feed is not None and bool(feed.guid)
        return Rejected(source=self.rules.name, url=rec.url, link=canonical_url(page.url),
                        title=rec.title, score=rec.relevance or 0.0,
                        threshold=self.rules.relevance_threshold,
                        guid=feed.guid if entry else None, entry=feed.signature() if entry else None,
                        vocabulary=(self.rules.lexicon or default_lexicon()).fingerprint)

    def _correct(self, corrections: list[tuple[int, Record]]) -> None:
        """Re-checked stories: updated in place when their publisher changed them
        (storage/corrections.py), never replaced by a much shorter version."""
        for (story_id, record), outcome in zip(corrections, apply_corrections(self.factory, corrections)):
            if outcome == "updated":
                self.counts.updated += 1
                log.info("source %s: story %d updated: its page %s changed", self.rules.name,
                         story_id, record.url)
            elif outcome == "kept":
                self.counts.recheck_kept += 1
                log.warning("source %s: re-check of story %d (%s) gave much less text: stored "
                            "version kept", self.rules.name, story_id, record.url)
        self.stats.set_value("defnews/updated", self.counts.updated)
