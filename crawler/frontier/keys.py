"""Names of the Redis keys of one source's frontier (pure: no I/O).

Every key starts with ``crawl.redis_prefix`` and the source name, so one Redis database can
hold several deployments (or test runs) side by side, and a source's state is found with
one ``SCAN prefix+source:*``. Keys that belong to one worker end in its id.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass


def make_worker_id() -> str:
    """``host:pid:nonce``: readable by operators, and a test can find a worker by its pid."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def worker_pid(worker: str) -> tuple[str, int | None]:
    """(host, pid) of a worker id."""
    host, _, rest = worker.rpartition(":")
    host, _, pid = host.rpartition(":")
    try:
        return host, int(pid)
    except ValueError:
        return host, None


@dataclass(frozen=True)
class SourceKeys:
    prefix: str
    source: str

    @property
    def base(self) -> str:
        return f"{self.prefix}{self.source}"

    @property
    def queue(self) -> str:
        """Article requests waiting for any worker (a list: LPUSH in, LMOVE out)."""
        return f"{self.base}:queue"

    @property
    def seen(self) -> str:
        """Fingerprints of the requests queued in the current run (a set; reset per run)."""
        return f"{self.base}:dupefilter"

    @property
    def run(self) -> str:
        """The current run: a hash of id, SQL run id, start, end, per-worker counts."""
        return f"{self.base}:run"

    @property
    def members(self) -> str:
        """Workers that joined the current run (a set)."""
        return f"{self.base}:run:members"

    @property
    def seeds(self) -> str:
        """Who fetches the feeds, sitemaps and listing pages in the current run."""
        return f"{self.base}:run:seeds"

    @property
    def holders(self) -> str:
        """Workers that may hold leases or private requests of this source (a set)."""
        return f"{self.base}:holders"

    @property
    def later(self) -> str:
        """Requests that failed for a passing reason (timeouts, 5xx after retries): queued
        again when the next run starts, not now (they would fail again at once)."""
        return f"{self.base}:later"

    @property
    def requeued(self) -> str:
        """How many leases of dead workers were handed back (a counter, for operators)."""
        return f"{self.base}:requeued"

    def worker(self, wid: str) -> str:
        """A worker's liveness key (expires unless renewed); its value says what it is."""
        return f"{self.base}:worker:{wid}"

    def leases(self, wid: str) -> str:
        """Requests a worker has taken and not finished (a list)."""
        return f"{self.base}:leases:{wid}"

    def mine(self, wid: str) -> str:
        """Navigation requests (feeds, sitemaps, listing pages) for the worker that owns the
        run's seeds: their callbacks keep per-process state, so they stay with it."""
        return f"{self.base}:mine:{wid}"

    @property
    def robots(self) -> str:
        """robots.txt bodies fetched in the current run, by host (a hash)."""
        return f"{self.base}:run:robots"

    @property
    def run_scoped(self) -> tuple[str, ...]:
        """Keys that a new run starts without."""
        return (self.seen, self.members, self.seeds, self.robots)
