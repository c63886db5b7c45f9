"""Scrapy settings derived from config.yaml: the one place crawl behaviour is tuned.

The components named here are the project's Scrapy shape: the spider (spiders/news.py),
the store pipeline (crawler/pipelines.py), the downloader middleware
(crawler/middlewares.py) and the extensions (crawler/extensions.py). Values come from the
config or from crawler/defaults.py.
"""

from __future__ import annotations

from typing import Any

from scrapy.settings import default_settings

from crawler import defaults
from crawler.config import Config


#: Off in every crawl (REMOTE_CONTROL_ENABLED, COOKIES_ENABLED), so not even imported:
#: the remote control's aiohttp (~8 MiB), the cookies middleware's tldextract/requests.
_REMOTE_CONTROL = "scrapy.extensions.remote_control.RemoteControl"
_COOKIES = "scrapy.downloadermiddlewares.cookies.CookiesMiddleware"


def _without(base: dict[str, int], name: str) -> dict[str, int]:
    return {k: v for k, v in base.items() if k != name}


def scrapy_settings(cfg: Config, *, log_level: str = "WARNING") -> dict[str, Any]:
    c = cfg.crawl
    settings: dict[str, Any] = {
        "BOT_NAME": "defnews",
        "USER_AGENT": c.user_agent,
        "ROBOTSTXT_OBEY": c.obey_robots,
        "CONCURRENT_REQUESTS": c.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": c.per_domain_concurrency,
        "DOWNLOAD_DELAY": c.download_delay,
        "DOWNLOAD_TIMEOUT": c.timeout,
        "DOWNLOAD_MAXSIZE": c.max_page_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "RETRY_ENABLED": True,
        "RETRY_TIMES": c.retries,
        "RETRY_HTTP_CODES": list(defaults.RETRY_HTTP_CODES),
        "REDIRECT_ENABLED": True,
        "COOKIES_ENABLED": False,
        # Scrapy starts CONCURRENT_ITEMS tasks for every response's output (default 100):
        # an article yields one Page, and the pipeline batches, so 2 do the same work at a
        # fraction of the reactor's CPU (~1 ms a page with 100).
        "CONCURRENT_ITEMS": 2,
        # Responses waiting for the pipeline (which waits for the pool): see defaults.
        "SCRAPER_SLOT_MAX_ACTIVE_SIZE": defaults.SCRAPER_SLOT_BYTES,
        "TELNETCONSOLE_ENABLED": False,
        # Scrapy >= 2.19 serves an HTTP endpoint that runs Python code sent to it, on by
        # default; a crawler needs no remote shell (and its aiohttp costs ~8 MiB).
        "REMOTE_CONTROL_ENABLED": False,
        "LOG_LEVEL": log_level,
        "LOG_FORMAT": "%(asctime)s %(levelname)s %(name)s: %(message)s",
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
        "ITEM_PIPELINES": {"crawler.pipelines.StorePipeline": 500},
        # Conditional GET for feeds, Retry-After; after RetryMiddleware (550) in the
        # response chain so it can stop retries.
        "DOWNLOADER_MIDDLEWARES": {
            "crawler.middlewares.FeedStateMiddleware": 560,
            # robots.txt kept across runs; a host whose robots.txt never answers is settled.
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "crawler.middlewares.RobotsMiddleware": 100,
            # After RedirectMiddleware (600) in the response chain: loops and off-site
            # redirects are counted, not dropped silently by the scheduler.
            "crawler.middlewares.RedirectGuardMiddleware": 610,
            # Scrapy's, without decoding every page to look for a tag few pages carry.
            "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
            "crawler.middlewares.MetaRefreshMiddleware": 580,
        },
        "EXTENSIONS": {"crawler.extensions.Progress": 500},
        # Components that are off are left out of Scrapy's base lists, not set to None:
        # Scrapy imports every key of EXTENSIONS / DOWNLOADER_MIDDLEWARES, None or not.
        "EXTENSIONS_BASE": _without(default_settings.EXTENSIONS_BASE, _REMOTE_CONTROL),
        "DOWNLOADER_MIDDLEWARES_BASE": _without(default_settings.DOWNLOADER_MIDDLEWARES_BASE, _COOKIES),
        "HTTPERROR_ALLOW_ALL": False,
        "DEFNEWS_DATABASE": cfg.database,
        "DEFNEWS_RELEVANCE_LEXICON": cfg.relevance_lexicon(),  # None: the shipped vocabulary
        "DEFNEWS_MAX_LISTING_PAGES": c.max_listing_pages,
        "DEFNEWS_STORE_BATCH": defaults.STORE_BATCH,
        "DEFNEWS_POOL_BATCH": defaults.POOL_BATCH,
        "DEFNEWS_POOL_INFLIGHT": defaults.POOL_INFLIGHT,
        "DNS_TIMEOUT": min(c.timeout, 20),
    }
    if c.redis_url:
        # Many workers share one frontier through Redis: leased requests, one seed fetch
        # and one seen-set per run (crawler/frontier).
        settings.update(
            {
                "SCHEDULER": "crawler.frontier.scheduler.FrontierScheduler",
                "DUPEFILTER_CLASS": "crawler.frontier.dupefilter.RunDupeFilter",
                "SCHEDULER_PERSIST": True,
                "REDIS_URL": c.redis_url,
                "DEFNEWS_REDIS_PREFIX": c.redis_prefix,
            }
        )
        settings["SPIDER_MIDDLEWARES"] = {"crawler.frontier.middlewares.FrontierSpiderMiddleware": 10}
        settings["DOWNLOADER_MIDDLEWARES"] = {
            **settings["DOWNLOADER_MIDDLEWARES"],
            "crawler.frontier.middlewares.FrontierDownloaderMiddleware": 50,
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "crawler.frontier.robots.SharedRobotsTxtMiddleware": 100,
        }
    return settings
