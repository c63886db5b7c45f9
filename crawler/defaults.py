"""Every default value of defnews, in one place (as scrapy-redis keeps its defaults.py).

Modules read their defaults from here instead of repeating a number where it is used, so
a default changes in one line and a newcomer finds them all at once. config.yaml values
override the ones that are configurable (see crawler/config.py); the rest are tuning.
"""

from __future__ import annotations

# -- files and databases ------------------------------------------------------------------
CONFIG_FILE = "config.yaml"
DATABASE = "sqlite:///data/defnews.db"

# -- crawl (config.yaml `crawl:`) ----------------------------------------------------------
OBEY_ROBOTS = True
CONCURRENCY = 16
PER_DOMAIN_CONCURRENCY = 4
MAX_LISTING_PAGES = 5
DOWNLOAD_DELAY = 0.25  # seconds, per domain
TIMEOUT = 30.0  # seconds per request
MAX_PAGE_BYTES = 5_000_000
RETRIES = 2
RETRY_HTTP_CODES = (500, 502, 503, 504, 522, 524, 408, 429)

# -- sources (config.yaml `sources:`) -------------------------------------------------------
SCHEDULE = "*/30 * * * *"
TIMEZONE = "UTC"

# -- the store pipeline --------------------------------------------------------------------
#: Pages stored per database transaction: large enough to amortise the commit, small
#: enough that a killed crawl loses little (it is refetched on the next run anyway).
STORE_BATCH = 100
#: Pages per task sent to the extraction pool: amortises pickling without starving a core.
POOL_BATCH = 16
#: Pool tasks queued or running at once; 0 means two per worker (one running, one queued).
POOL_INFLIGHT = 0

# -- extraction (crawler/text/) ----------------------------------------------------------------
#: Characters of a story its language is identified on (its first paragraphs).
LANGUAGE_SAMPLE = 1000

# -- Redis frontier (crawl.redis_url) -------------------------------------------------------
#: Seconds the shared seen-set lives after a run, so a page that failed is retried later.
REDIS_SEEN_TTL = 6 * 3600
#: Seconds a worker waits on an empty shared queue before it closes.
REDIS_MAX_IDLE = 10

# -- unattended runs ------------------------------------------------------------------------
#: Seconds a source lock lives without renewal; the holder renews it every TTL/4.
LOCK_TTL = 300.0
#: A dead source is still tried at least once a day (or once a period, if longer).
BACKOFF_CAP = 24 * 3600.0
#: The period assumed for a schedule whose period cannot be computed.
FALLBACK_PERIOD = 3600.0
#: Seconds a running crawl gets to stop cleanly after SIGTERM before it is SIGKILLed.
SHUTDOWN_GRACE = 10.0
#: The scheduler's whole shutdown, SIGKILL and bookkeeping included, stays under this.
SHUTDOWN_BUDGET = 14.0

# -- reading ---------------------------------------------------------------------------------
FEED_LIMIT = 50  # entries of `defnews feed`
