"""Run one crawl of the chosen sources in this process (one Scrapy reactor, one pool).

Twisted's reactor cannot restart, so this runs once per process: the scheduler starts
`defnews crawl` in a child process for every run.
"""

from __future__ import annotations

import logging
import os
import re
import resource
import signal
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.utils.defer import deferred_from_coro

from crawler.config import Config, SourceConfig
from crawler.items import RunCounts
from crawler.pool import make_pool, tame_malloc
from crawler.settings import scrapy_settings
from crawler.middlewares import failure_kind
from spiders.news import NewsSpider

log = logging.getLogger(__name__)


class SharedPool:
    """The extraction pool of this process, carried to every crawler in its settings.

    Scrapy deep-copies the settings for each crawler; a pool cannot be copied (nor should
    it be), so copies of this holder are the holder itself and every source's pipeline
    submits to the one pool. ``pool`` is None until the runner has started it.
    """

    def __init__(self, pool: ProcessPoolExecutor | None = None) -> None:
        self.pool = pool

    def __deepcopy__(self, memo: dict) -> "SharedPool":
        return self

    def __copy__(self) -> "SharedPool":
        return self


def _install_graceful_stop(process: CrawlerProcess) -> None:
    """SIGINT/SIGTERM stop the crawls gracefully and the reactor stops by itself when they
    are done; unlike Scrapy's own handler, a spider already closing is left to finish its
    last store. A second signal stops at once."""
    from twisted.internet import reactor  # the one installed by CrawlerProcess

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
              progress: bool = False, workers: int | None = None, full: bool = False) -> list[RunCounts]:
    """Crawl `sources` in this process; one RunCounts per source, in order. `full`: walk
    every listing page and sitemap entry, not only what changed since the last run."""
    shared = SharedPool()
    settings = scrapy_settings(cfg, log_level=log_level)
    settings["DEFNEWS_PROGRESS"] = progress
    settings["DEFNEWS_POOL"] = shared
    settings["DEFNEWS_FULL_WALK"] = full
    settings["LOG_INSTALL_ROOT_HANDLER"] = False  # the CLI's handler and level rule
    process = CrawlerProcess(settings)
    if os.environ.get("DEFNEWS_MALLOC", "tame") == "tame":
        tame_malloc()
    shared.pool = make_pool(workers)
    crawlers = []
    broken: dict[str, str] = {}  # source -> why its crawl could not start or run

    def crashed(failure: Any, name: str) -> None:
        broken[name] = f"source {name}: the crawl could not run: {failure.getErrorMessage()}"
        log.error("%s", broken[name], exc_info=(failure.type, failure.value, failure.getTracebackObject()))

    try:
        for src in sources:
            crawler = process.create_crawler(NewsSpider)
            crawlers.append((src, crawler))
            process.crawl(crawler, source=src).addErrback(crashed, src.name)
        _install_graceful_stop(process)
        process.start(install_signal_handlers=False)
    finally:
        shared.pool.shutdown(wait=True, cancel_futures=True)
    results = []
    for src, crawler in crawlers:
        counts = crawler.stats.get_value("defnews/counts") if crawler.stats else None
        if not isinstance(counts, RunCounts):
            counts = RunCounts(source=src.name, status="failed")
        if src.name in broken:
            counts.status, counts.aborted = "crashed", True
            counts.errors.insert(0, broken[src.name])
        results.append(counts)
    cpu = process_cpu()
    for counts in results:  # one process crawls them all: its CPU is shared out evenly
        counts.cpu_s = cpu / len(results)
    return results


def process_cpu() -> float:
    """CPU seconds of this process and its reaped children (the pool workers), since it
    started: a crawl forked from the zygote starts from zero, a fresh `defnews crawl`
    counts its imports too (what that run really cost)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


# -- one URL, for `defnews extract URL` -------------------------------------------------------

class _OneSpider(scrapy.Spider):
    name = "defnews-extract"

    def __init__(self, url: str, box: dict, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.url, self.box = url, box

    async def start(self) -> Any:
        yield scrapy.Request(self.url, callback=self.got, errback=self.failed, dont_filter=True)

    def got(self, response: Any) -> None:
        ctype = response.headers.get("Content-Type", b"").decode("latin-1")
        m = re.search(r"charset=([\w\-:]+)", ctype, re.I)
        self.box.update(body=response.body, encoding=m.group(1) if m else None, url=response.url)

    def failed(self, failure: Any) -> None:
        # The kind first ("connection reset", "timeout"), as the crawl summary names it,
        # then Scrapy's words; "HTTP 404" and "host ... unreachable" say it all already.
        _, kind = failure_kind(failure)
        response = getattr(failure.value, "response", None)
        detail = f"HTTP {response.status}" if response is not None else str(failure.value)
        self.box["error"] = detail if kind in ("host unreachable", detail) else f"{kind} ({detail[:300]})"


def fetch_one(url: str, cfg: Config | None) -> tuple[bytes, str | None, str]:
    """Fetch a single URL through Scrapy (the project's only HTTP client): (body, declared
    encoding, final URL); RuntimeError says why nothing came back."""
    settings = scrapy_settings(cfg or Config(), log_level="ERROR")
    settings.update({"ITEM_PIPELINES": {}, "EXTENSIONS": {}})
    box: dict = {}
    settings["LOG_INSTALL_ROOT_HANDLER"] = False
    process = CrawlerProcess(settings)
    process.crawl(_OneSpider, url=url, box=box)
    process.start()
    if "body" not in box:
        raise RuntimeError(box.get("error") or "not fetched (robots.txt or no response)")
    return box["body"], box["encoding"], box["url"]
