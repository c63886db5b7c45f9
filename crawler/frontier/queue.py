"""A reliable request queue on Redis: a request taken is leased, not lost.

scrapy-redis pops a request (RPOP/ZPOPMIN) before it is downloaded, so a worker killed
with requests in hand loses them. Here a worker takes a request with ``LMOVE queue ->
leases:<worker>`` (Redis' reliable-queue pattern: one atomic command, nothing in between
to lose), and removes it from its lease list only when the request is finished: its page
stored (or rejected), its callback's requests queued, or its failure final. A worker whose
liveness key has expired is dead; whatever is in its lease list goes back to the queue.

Why lists and LMOVE rather than a sorted set with deadlines: a deadline per request must be
longer than the slowest page (download, retries, extraction, a store batch) or a live
worker's request is handed out twice, while a liveness key renewed by a thread says
exactly "this process is alive", whatever its pages cost. The price is FIFO order: request
priorities (Scrapy's redirect +2 / retry -1) are not honoured across workers.

Requests are serialised like scrapy-redis does (``Request.to_dict`` + pickle, the one
format that keeps callbacks and the feed metadata in ``meta``), so only trusted clients
may write to this Redis.
"""

from __future__ import annotations

import logging
import pickle
from typing import Any, Iterable

from scrapy.http import Request
from scrapy_redis.queue import Base

from crawler.frontier.keys import SourceKeys

log = logging.getLogger(__name__)

#: Lease key in request.meta: the exact bytes in the lease list (what LREM needs).
LEASE = "frontier_lease"

# Queue a request unless its fingerprint was seen this run (the seen-set and the queue
# change together), and drop the lease it continues (a retry or a redirect), all at once.
# KEYS: seen, queue, leases   ARGV: fingerprint ('' = do not filter), data, old lease ('')
_PUSH = """
local queued = 1
if ARGV[1] ~= '' and redis.call('SADD', KEYS[1], ARGV[1]) == 0 then
  queued = 0
else
  redis.call('LPUSH', KEYS[2], ARGV[2])
end
if ARGV[3] ~= '' then
  redis.call('LREM', KEYS[3], 1, ARGV[3])
end
return queued
"""

# Hand a dead worker's leases and private requests back to the queue (at the end that
# is served next), unless it came back to life. Atomic: two reapers cannot both move them.
# KEYS: worker liveness, leases, mine, queue, holders, requeued counter   ARGV: worker id
_REAP = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return -1
end
local n = 0
for _, src in ipairs({KEYS[2], KEYS[3]}) do
  while redis.call('LMOVE', src, KEYS[4], 'LEFT', 'RIGHT') do
    n = n + 1
  end
end
redis.call('SREM', KEYS[5], ARGV[1])
if n > 0 then
  redis.call('INCRBY', KEYS[6], n)
end
return n
"""


def reap(server: Any, keys: SourceKeys, worker: str) -> int:
    """Hand a dead worker's requests back to the queue: how many; -1 if it is alive."""
    script = server.register_script(_REAP)
    return int(script(keys=[keys.worker(worker), keys.leases(worker), keys.mine(worker), keys.queue,
                            keys.holders, keys.requeued], args=[worker]))


class LeaseQueue(Base):
    """One source's shared queue plus this worker's lease list and private queue.

    A subclass of scrapy-redis' queue base for its request (de)serialisation; the pop and
    push operations are ours (see the module docstring).
    """

    def __init__(self, server: Any, spider: Any, keys: SourceKeys, worker: str) -> None:
        super().__init__(server, spider, keys.queue, serializer=pickle)
        self.keys = keys
        self.worker = worker
        self.leases_key = keys.leases(worker)
        self.mine_key = keys.mine(worker)
        self._push = server.register_script(_PUSH)

    # -- writing ------------------------------------------------------------------------
    def encode(self, request: Request) -> bytes:
        """The request without our lease bookkeeping (that is this worker's business)."""
        lease = request.meta.pop(LEASE, None)
        try:
            return self._encode_request(request)
        finally:
            if lease is not None:
                request.meta[LEASE] = lease

    def push(self, request: Request, fingerprint: str = "", *, private: bool = False) -> bool:
        """Queue a request (False if its fingerprint was already seen this run). A request
        that continues a lease of ours (retry, redirect) takes its place atomically."""
        old = request.meta.get(LEASE) or b""
        target = self.mine_key if private else self.key
        return bool(self._push(keys=[self.keys.seen, target, self.leases_key],
                               args=[fingerprint, self.encode(request), old]))

    # -- taking -------------------------------------------------------------------------
    def lease(self) -> Request | None:
        """Take the next request, private ones (navigation) first; it stays in our lease
        list until `ack`."""
        for source in (self.mine_key, self.key):
            data = self.server.lmove(source, self.leases_key, "RIGHT", "LEFT")
            if data is not None:
                request = self._decode_request(data)
                request.meta[LEASE] = data
                return request
        return None

    def ack(self, leases: Iterable[bytes]) -> None:
        """These requests are finished: forget them."""
        leases = [x for x in leases if x]
        if not leases:
            return
        pipe = self.server.pipeline(transaction=False)
        for data in leases:
            pipe.lrem(self.leases_key, 1, data)
        pipe.execute()

    def defer(self, leases: Iterable[bytes]) -> None:
        """These requests failed for a passing reason: the next run tries them again."""
        leases = [x for x in leases if x]
        if not leases:
            return
        pipe = self.server.pipeline(transaction=True)
        for data in leases:
            pipe.lrem(self.leases_key, 1, data)
            pipe.lpush(self.keys.later, data)
        pipe.execute()

    def release(self) -> int:
        """At close: what we still hold (and our private queue) goes back to the queue,
        where the other workers or the next run find it."""
        n = 0
        for source in (self.leases_key, self.mine_key):
            while self.server.lmove(source, self.key, "LEFT", "RIGHT") is not None:
                n += 1
        self.server.srem(self.keys.holders, self.worker)
        return n

    def reap(self, worker: str) -> int:
        """Hand a dead worker's requests back; -1 if it is alive after all."""
        return reap(self.server, self.keys, worker)

    # -- looking ------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.server.llen(self.key)) + int(self.server.llen(self.mine_key))

    def others_pending(self) -> tuple[int, list[str]]:
        """(requests other workers hold or have queued privately, the workers that are
        dead and hold some): while others work, their pages may lead to more requests, and
        a dead one's requests come back here."""
        k = self.keys
        others = [w.decode() if isinstance(w, bytes) else w
                  for w in self.server.smembers(k.holders)]
        others = [w for w in others if w != self.worker]
        if not others:
            return 0, []
        pipe = self.server.pipeline(transaction=False)
        for w in others:
            pipe.llen(k.leases(w))
            pipe.llen(k.mine(w))
            pipe.exists(k.worker(w))
        out = pipe.execute()
        held, dead = 0, []
        for i, w in enumerate(others):
            n = int(out[3 * i]) + int(out[3 * i + 1])
            held += n
            if not out[3 * i + 2]:
                dead.append(w)
        return held, dead
