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
#: RFC 9309 section 2.4: a cached robots.txt SHOULD NOT be used for more than 24 hours.
ROBOTS_MAX_AGE = 24 * 3600
#: Tries of a robots.txt before its host is settled as unreachable for the run: the worst
#: a mute host costs a source is this many crawl.timeout's.
ROBOTS_TRIES = 2
#: Seconds one robots.txt try may take (at most crawl.timeout): a few hundred bytes that
#: any working server sends at once. A mute host costs ROBOTS_TRIES x this, not more.
ROBOTS_TIMEOUT = 10.0
#: Seconds of clock difference allowed between a site's sitemap <lastmod> and ours.
LASTMOD_SKEW = 3600.0
#: Days run records are kept (each source's newest run is always kept): the database
#: grows with stories, not with runs. A fraction of a day is allowed (benchmarks).
RETENTION_DAYS = 90.0

# -- sources (config.yaml `sources:`) -------------------------------------------------------
SCHEDULE = "*/30 * * * *"
TIMEZONE = "UTC"
#: A source with relevance_filter: true keeps stories scoring at least this (its own
#: relevance_threshold overrides it); bench/relevance.py measures the filter at it.
RELEVANCE_THRESHOLD = 0.5

# -- OPML import (crawler/opml.py) ---------------------------------------------------------
#: An OPML file larger than this is not a subscription list (10 MB holds ~50k feeds).
OPML_MAX_BYTES = 10_000_000
#: More feeds than this in one import is a mistake or an attack, not a reading list.
OPML_MAX_FEEDS = 5000
#: Folders nest one or two deep in real files; deeper is a malformed or hostile one.
OPML_MAX_DEPTH = 32
#: Longest source name made from an imported feed's host or title.
SOURCE_NAME_MAX = 40

# -- corrections (storage/corrections.py, crawler/text/revisions.py) ------------------------
#: Stories first seen in the last this many hours are re-checked (config.yaml per source:
#: `recheck_hours`; 0 disables).
RECHECK_HOURS = 48.0
#: A story is re-checked at ages RECHECK_MIN_GAP, 2x, 4x, ... seconds: 9 times in 48 hours.
RECHECK_MIN_GAP = 600.0
#: At most this many re-checks per source and crawl (the newest stories first).
RECHECK_LIMIT = 1000
#: A re-fetched page keeping less than this share of the stored text's words is taken for
#: a broken page, not a correction: the stored version stays.
RECHECK_MIN_TEXT_RATIO = 0.5

# -- the store pipeline --------------------------------------------------------------------
#: Pages stored per database transaction: large enough to amortise the commit, small
#: enough that a killed crawl loses little (it is refetched on the next run anyway).
STORE_BATCH = 100
#: Pages per task sent to the extraction pool: amortises the round trip without starving a
#: core. With POOL_INFLIGHT's two tasks per worker, about 5 x 8 pages (~170 KiB each) wait
#: in the main process for the pool at most.
POOL_BATCH = 8
#: Pool tasks queued or running at once; 0 means two per worker (one running, one queued).
POOL_INFLIGHT = 0
#: How pool workers start (crawler.runner.make_pool): "spawn" (lean: a worker imports the
#: extraction modules only) or "fork" (a copy of the crawl process; the zygote's crawls,
#: whose modules are shared and warm). $DEFNEWS_POOL_START overrides it.
POOL_START = "spawn"
#: Bytes of fetched responses Scrapy's scraper holds while the pipeline waits for the pool
#: (SCRAPER_SLOT_MAX_ACTIVE_SIZE; Scrapy's default is 5 MB, ~30 pages): beyond it the
#: downloader pauses. The pool's own queue (POOL_BATCH) already keeps every worker busy.
SCRAPER_SLOT_BYTES = 1_000_000

# -- extraction (crawler/text/) ----------------------------------------------------------------
#: Characters of a story its language is identified on (its first paragraphs).
LANGUAGE_SAMPLE = 1000
#: jusText's stop-word lists for trafilatura's full pass (crawler/text/extract.py): the
#: languages of the stories kept, not all 100 (~30 MiB per pool worker).
JUSTEXT_STOPLISTS = ("Arabic", "Persian", "Urdu", "English", "French")

# -- Redis frontier (crawl.redis_url; crawler/frontier) -------------------------------------
#: Start of every Redis key (config crawl.redis_prefix): "" keeps scrapy-redis' names,
#: `<source>:...`.
REDIS_PREFIX = ""
#: A worker is dead when it has not renewed its liveness key for this long (seconds). Its
#: leases then go back to the queue. A thread renews it every TTL/8, so a busy reactor
#: cannot make a live worker look dead; a SIGKILLed one is noticed within TTL.
WORKER_TTL = 8.0
#: How often (seconds) each worker reaps dead workers' leases and wakes its engine when
#: work appears in the shared queue (Scrapy itself polls every 5 s when idle).
FRONTIER_POLL = 0.5
#: A run's keys (its seen-set, seed claim, robots.txt bodies) outlive its last worker by
#: this long (seconds), for `defnews workers`; the next run starts without them anyway.
RUN_TTL = 6 * 3600
#: How long (seconds) Redis may stay unreachable before a worker gives the crawl up.
REDIS_OUTAGE = 30.0
#: How long (seconds) a joining worker waits for the run's creator to record it in SQL (the
#: creator may be waiting for another worker's schema migration); after it, the joiner
#: records the run itself, as it must when the creator died.
RUN_RECORD_WAIT = 60.0

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

# -- the web reader (`defnews serve`) --------------------------------------------------------
SERVE_HOST = "127.0.0.1"  # loopback unless told otherwise: a reverse proxy faces the network
SERVE_PORT = 8080
#: Seconds the requests in flight get after SIGTERM/SIGINT before the reader exits.
SERVE_GRACE = 10
#: Stories per page of a list, and the most a `limit` parameter may ask for.
PAGE_SIZE = 30
MAX_PAGE_SIZE = 200
#: Deepest offset of relevance-ranked search pages (time order pages by keyset, unbounded).
MAX_OFFSET = 1000
#: A search matching more stories than this ranks the most recently stored this many:
#: scoring every match of a very common word would cost in proportion to the archive.
RANK_AMONG = 5_000
