"""The Scrapy scheduler of a worker sharing one source's frontier through Redis.

Built on scrapy-redis' scheduler (connection settings, stats names), with its queue,
seen-set and idle handling replaced:

- requests are leased, not popped (queue.py); the lease of a finished request is dropped
  by the pipeline (page stored), the spider middleware (callback done) or the downloader
  middleware (final failure), see middlewares.py;
- navigation requests (``meta["seed"]``: feeds, sitemaps, listing pages) go to the private
  queue of the worker that owns the run's seeds, articles to the shared queue;
- the worker stays open while other workers hold requests (their pages may lead to more,
  and a dead worker's come back), and wakes its engine as soon as work appears, instead
  of Scrapy's 5-second idle poll.

scrapy-redis 0.9.1 checked against Scrapy 2.19 (what is used here, and why not the rest):
- its Scheduler passes Scrapy's BaseScheduler check and is kept for the connection and
  from_crawler; start requests now arrive through ``enqueue_request`` like any other
  (``Spider.start()`` is consumed by the engine), so with scrapy-redis every worker's seeds
  went to the shared queue and any worker could run another's feed callback: the seed
  claim lives in the spider middleware's ``process_start``, navigation in a private queue;
- its ``has_pending_requests`` is the queue length, so a worker closed as soon as the
  shared queue was empty (the engine re-polls an idle scheduler only every 5 s), and
  MAX_IDLE_TIME_BEFORE_CLOSE applies only to RedisSpider (``start_requests``-era API),
  not to our spider: the first worker up took nearly all the work;
- ``SCHEDULER_IDLE_BEFORE_CLOSE`` > 0 makes ``next_request`` a blocking BRPOP on the
  reactor thread; its stats calls pass ``spider=``, which Scrapy 2.19 warns about;
- its RFPDupeFilter deletes the seen-set in ``close()`` (Scrapy's own scheduler calls it)
  and has its own fingerprint (method, canonical URL, body): kept, run-scoped, never
  closed (dupefilter.py); its queue serialisation (``Request.to_dict`` + pickle) is kept.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from redis.exceptions import RedisError
from scrapy.http import Request
from scrapy.utils.defer import deferred_from_coro
from scrapy_redis.scheduler import Scheduler
from twisted.internet import reactor, task

from crawler import defaults
from crawler.frontier import signals
from crawler.frontier.dupefilter import RunDupeFilter
from crawler.frontier.keys import SourceKeys, make_worker_id
from crawler.frontier.queue import LEASE, LeaseQueue
from crawler.frontier.run import Leave, RunMembership

log = logging.getLogger(__name__)


class FrontierScheduler(Scheduler):
    @classmethod
    def from_crawler(cls, crawler: Any) -> "FrontierScheduler":
        instance = super().from_crawler(crawler)  # connects and pings Redis
        instance.crawler = crawler
        s = crawler.settings
        instance.prefix = s.get("DEFNEWS_REDIS_PREFIX", "")
        instance.worker_ttl = s.getfloat("DEFNEWS_WORKER_TTL", defaults.WORKER_TTL)
        instance.poll = s.getfloat("DEFNEWS_FRONTIER_POLL", defaults.FRONTIER_POLL)
        instance.run_ttl = s.getint("DEFNEWS_RUN_TTL", defaults.RUN_TTL)
        instance.outage_limit = s.getfloat("DEFNEWS_REDIS_OUTAGE", defaults.REDIS_OUTAGE)
        return instance

    # -- lifecycle ----------------------------------------------------------------------
    def open(self, spider: Any) -> None:
        self.spider = spider
        self.keys = SourceKeys(self.prefix, spider.name)
        self.worker = make_worker_id()
        self.queue = LeaseQueue(self.server, spider, self.keys, self.worker)
        self.df = RunDupeFilter(self.server, key=self.keys.seen,
                                debug=self.crawler.settings.getbool("DUPEFILTER_DEBUG"))
        self.membership = RunMembership(self.server, self.keys, self.worker,
                                        ttl=self.worker_ttl, run_ttl=self.run_ttl)
        self.membership.start()
        self.run_id = self.membership.join()
        self.owns_seeds = False
        self.lost: str | None = None  # why the run's state in Redis is gone, if it is
        self.left: Leave | None = None
        self.taken = self.requeued = 0
        self._outage_since: float | None = None
        log.info("source %s: worker %s %s run %s", spider.name, self.worker,
                 "started" if self.membership.created else "joined", self.run_id)
        self._reap()
        self._loop = task.LoopingCall(self._tick)
        self._loop.start(self.poll, now=False)

    def close(self, reason: str) -> None:
        if self._loop.running:
            self._loop.stop()
        self.membership.stop()
        try:
            if self.left is None:
                self.leave("interrupted" if reason != "finished" else "ok", {})
            back = self.queue.release()
            if back:
                log.warning("source %s: %d unfinished requests handed back to the shared queue",
                            self.spider.name, back)
        except RedisError as exc:
            log.error("source %s: Redis unreachable at close (%s): this worker's unfinished "
                      "requests are handed back when its key expires", self.spider.name, exc)
        finally:
            self.membership.forget()

    # -- what the pipeline and the middlewares call -------------------------------------
    def claim_seeds(self) -> bool:
        self.owns_seeds = self.membership.claim_seeds()
        return self.owns_seeds

    def record_id(self, create: Any) -> int:
        return self.membership.record_id(create, self.crawler.settings.getfloat(
            "DEFNEWS_RUN_RECORD_WAIT", defaults.RUN_RECORD_WAIT))

    def leave(self, status: str, counts: dict[str, int]) -> Leave:
        """Leave the run (once): says whether this worker ended it, and every worker's status."""
        if self.left is None:
            if self.lost:
                self.left = Leave(last=True, lost=True, statuses={self.worker: status}, workers=1)
            else:
                try:
                    self.left = self.membership.leave(status, {"taken": self.taken, **counts})
                except RedisError as exc:
                    self.lost = f"Redis unreachable at the end of the run ({exc})"
                    self.left = Leave(last=True, lost=True, statuses={self.worker: status}, workers=1)
                if self.left.lost:
                    self.lost = self.lost or "the run's state vanished from Redis"
                    self.stats.set_value("defnews/frontier_lost", self.lost)
        return self.left

    def ack(self, leases: list[bytes]) -> None:
        """These requests are finished (stored, rejected, failed for good)."""
        try:
            self.queue.ack(leases)
        except RedisError as exc:  # the lease outlives us and the request is fetched again
            log.warning("source %s: could not release %d finished requests: %s",
                        self.spider.name, len(leases), exc)

    def ack_soon(self, leases: list[bytes]) -> None:
        """Ack on the next reactor turn, once a callback's last requests are queued."""
        reactor.callLater(0, self.ack, leases)

    def defer(self, leases: list[bytes]) -> None:
        """These requests failed for a passing reason (retries used up): not done, so not
        forgotten; the next run tries them again (see keys.later)."""
        try:
            self.queue.defer(leases)
            self.stats.inc_value("defnews/frontier_deferred", len(leases))
        except RedisError as exc:
            log.warning("source %s: could not defer %d failed requests: %s",
                        self.spider.name, len(leases), exc)

    # -- Scrapy's scheduler interface ---------------------------------------------------
    def enqueue_request(self, request: Request) -> bool:
        nav = bool(request.meta.get("seed"))
        if nav and request.meta.get("seed") == "listing" and not request.meta.get(LEASE) \
                and not self.owns_seeds:
            return False  # the seed owner fetches the listing pages of this run
        fingerprint = "" if request.dont_filter else self.df.request_fingerprint(request)
        try:
            queued = self.queue.push(request, fingerprint, private=nav)
        except RedisError as exc:
            self._trouble(exc)
            return False
        if not queued:
            self.df.log(request, self.spider)
            return False
        self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        if self.lost:
            return None
        try:
            request = self.queue.lease()
        except RedisError as exc:
            self._trouble(exc)
            return None
        if request is None:
            self.crawler.signals.send_catch_log(signal=signals.starved)
            return None
        self.taken += 1
        self.membership.counters["taken"] = self.taken
        self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        if self.lost:
            return False
        try:
            if len(self.queue) > 0:
                return True
            held, dead = self.queue.others_pending()
            if dead and self._reap(dead):
                return True
            return held > 0
        except RedisError as exc:
            self._trouble(exc)
            return True  # not done: Redis may come back (or the outage limit closes us)

    def __len__(self) -> int:
        return len(self.queue)

    # -- housekeeping (reactor, every `poll` seconds) ------------------------------------
    def _tick(self) -> None:
        try:
            if not self.membership.still_ours():
                self._lose("the run's state vanished from Redis (restarted without persistence, "
                           "or its keys were deleted)")
                return
            self._reap()
            self._outage_since = None
        except RedisError as exc:
            self._trouble(exc)
            return
        self._wake()

    def _reap(self, dead: list[str] | None = None) -> int:
        """Hand dead workers' requests back to the queue; how many came back."""
        if dead is None:
            dead = self.queue.others_pending()[1]
        n = 0
        for w in dead:
            got = self.queue.reap(w)
            if got > 0:
                n += got
                log.warning("source %s: worker %s is gone; %d of its requests are back in the queue",
                            self.spider.name, w, got)
        self.requeued += n
        if n:
            self.stats.inc_value("defnews/frontier_requeued", n)
        return n

    def _wake(self) -> None:
        """Let the engine ask for requests now (it otherwise polls every 5 s when idle).
        The engine's slot is not public API; without it, Scrapy's own poll still works."""
        slot = getattr(self.crawler.engine, "_slot", None)
        nextcall = getattr(slot, "nextcall", None)
        if nextcall is not None:
            nextcall.schedule()

    def _trouble(self, exc: Exception) -> None:
        now = time.monotonic()
        if self._outage_since is None:
            self._outage_since = now
            log.error("source %s: Redis unreachable (%s); waiting up to %.0fs for it",
                      self.spider.name, exc, self.outage_limit)
        elif now - self._outage_since > self.outage_limit:
            self._lose(f"Redis unreachable for {now - self._outage_since:.0f}s ({exc})")

    def _lose(self, why: str) -> None:
        if self.lost:
            return
        self.lost = why
        log.error("source %s: %s: stopping this worker; the next run starts afresh and fetches "
                  "what was not stored", self.spider.name, why)
        self.stats.set_value("defnews/frontier_lost", why)
        deferred_from_coro(self.crawler.engine.close_spider_async(reason="frontier_lost"))
