"""The shared frontier: many `defnews crawl` workers, one queue in Redis, no lost request.

- queue.py: leased requests (LMOVE into a per-worker lease list; dead workers' leases
  come back), private queues for the seed owner's navigation requests;
- run.py: a run identity in Redis that workers join, the seed claim, worker liveness;
- dupefilter.py: the run's seen-set;
- scheduler.py: the Scrapy scheduler tying these together;
- middlewares.py: where a lease ends, and the seed claim at start;
- robots.py: one robots.txt fetch per host and run;
- status.py: what `defnews workers` shows.

Keys: keys.py. Defaults: crawler/defaults.py. Operators' guide: README, "Several workers".
"""

from __future__ import annotations

from typing import Any


def frontier_of(crawler: Any) -> Any:
    """The crawl's frontier scheduler, or None when the crawl does not share a frontier."""
    try:
        engine = crawler.engine
    except (AttributeError, RuntimeError):  # no crawl started (Scrapy 2.14+ raises)
        return None
    scheduler = getattr(engine, "scheduler", None) if engine is not None else None
    return scheduler if hasattr(scheduler, "ack_soon") else None
