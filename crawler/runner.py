"""Run one crawl of the chosen sources in this process (one Scrapy reactor, one pool).

Twisted's reactor cannot restart, so this runs once per process: the scheduler starts
`defnews crawl` in a child process for every run.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from scrapy.crawler import CrawlerProcess

from crawler.config import Config, SourceConfig
from crawler.settings import scrapy_settings
from spiders.news import NewsSpider

log = logging.getLogger(__name__)


@dataclass
class SourceResult:
    source: str
    status: str = "not run"
    fetched: int = 0
    new: int = 0
    duplicate: int = 0
    existing: int = 0
    rejected: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def _init_worker() -> None:
    import signal

    from crawler.process import warm_up

    # Ctrl-C goes to the whole process group: the parent stops the crawl cleanly.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warm_up()


def tame_malloc() -> None:
    """glibc only: a fixed mmap threshold and two malloc arenas, so memory stays flat.

    A crawl allocates and frees page bodies (100 KB - 1 MB) by the thousand. glibc raises
    its mmap threshold after the first such frees, so later bodies land on the heap, and
    every thread that touches them (reactor, SQL writer, pool feeder) gets its own arena:
    the freed memory is kept in fragments and RSS creeps up with the pages crawled. Pool
    workers forked afterwards inherit the setting.
    """
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl or another libc: nothing to tune
        return
    m_mmap_threshold, m_arena_max = -3, -8
    mallopt(m_mmap_threshold, 128 * 1024)
    mallopt(m_arena_max, 2)


def make_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """The extraction pool, started lazily: its workers are forked at the first batch.

    fork: workers inherit the loaded extraction modules instead of importing them again
    (forkserver/spawn cost seconds per crawl). Lazily: most scheduled runs find nothing
    new, and starting and warming up a worker per core costs more CPU than the rest of
    such a run; a run with pages to extract waits once for the warm-up (~0.1 s when the
    crawl was forked from the scheduler's zygote, which preloaded the modules)."""
    import crawler.process  # noqa: F401

    ctx = multiprocessing.get_context("fork")
    return ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1, mp_context=ctx,
                               initializer=_init_worker)


def _install_graceful_stop(process: CrawlerProcess) -> None:
    """SIGINT/SIGTERM stop the crawls gracefully and the reactor stops by itself when they
    are done; unlike Scrapy's own handler, a spider already closing is left to finish its
    last store. A second signal stops at once."""
    import signal

    from scrapy.utils.defer import deferred_from_coro
    from twisted.internet import reactor

    def stop_crawlers() -> None:
        for crawler in list(process.crawlers):
            slot = getattr(crawler.engine, "_slot", None) if crawler.engine else None
            if slot is not None and getattr(slot, "closing", None) is not None:
                continue
            deferred_from_coro(crawler.stop_async())

    def stop_now() -> None:
        log.warning("second signal: stopping at once")
        reactor.stop()

    def force(signum: int, _frame: object) -> None:
        reactor.callFromThread(stop_now)

    def graceful(signum: int, _frame: object) -> None:
        log.warning("signal %d: stopping the crawl, storing what was fetched", signum)
        signal.signal(signal.SIGINT, force)
        signal.signal(signal.SIGTERM, force)
        reactor.callFromThread(stop_crawlers)

    signal.signal(signal.SIGINT, graceful)
    signal.signal(signal.SIGTERM, graceful)


def run_crawl(cfg: Config, sources: list[SourceConfig], *, log_level: str = "WARNING",
              progress: bool = False, workers: int | None = None) -> list[SourceResult]:
    settings = scrapy_settings(cfg, log_level=log_level)
    settings["DEFNEWS_PROGRESS"] = progress
    settings["LOG_INSTALL_ROOT_HANDLER"] = False  # the CLI's handler and level rule
    process = CrawlerProcess(settings)
    if os.environ.get("DEFNEWS_MALLOC", "tame") == "tame":
        tame_malloc()
    pool = make_pool(workers)
    crawlers = []
    try:
        for src in sources:
            crawler = process.create_crawler(NewsSpider)
            crawlers.append((src, crawler))
            process.crawl(crawler, source=src, pool=pool)
        _install_graceful_stop(process)
        process.start(install_signal_handlers=False)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    results = []
    for src, crawler in crawlers:
        stats = crawler.stats.get_stats() if crawler.stats else {}
        spider = crawler.spider
        results.append(SourceResult(
            source=src.name,
            status=stats.get("defnews/status", "failed"),
            fetched=stats.get("defnews/pages", 0),
            new=stats.get("defnews/new", 0),
            duplicate=stats.get("defnews/duplicates", 0),
            existing=stats.get("defnews/exists", 0),
            rejected=stats.get("defnews/rejected", 0),
            failed=stats.get("defnews/failed_total", 0) + stats.get("defnews/seed_failed", 0),
            skipped=stats.get("defnews/skipped", 0),
            errors=list(getattr(spider, "seed_errors", []) if spider else []),
        ))
    return results
