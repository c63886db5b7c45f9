"""One run of a source across workers: joined in Redis, recorded once in SQL.

The first worker to start a source creates the run (a hash in Redis) and its SQL record;
workers starting while it is live join it, so ``defnews sources`` shows one run with every
worker's counts, the seed fetch is claimed once per run, and the seen-set lives as long
as the run. The last live worker to leave ends it. A run whose workers all died is over:
the next worker starts a new one (and the dead workers' requests come back through
the lease reaper, see queue.py).

Liveness is a key per worker that a thread renews every TTL/8: it says "this process is
alive" however busy its reactor is, and a SIGKILLed worker's key expires within TTL.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from crawler.frontier.keys import SourceKeys, worker_pid

log = logging.getLogger(__name__)

# KEYS: run, members, seen, seeds, robots, later, queue
# ARGV: worker, now, run ttl, new run id, worker-key prefix
# A run that ended, or whose members are all dead, is replaced by a new one, which starts
# with the requests the last one deferred.
_JOIN = """
local id = redis.call('HGET', KEYS[1], 'id')
local fresh = (not id) or redis.call('HEXISTS', KEYS[1], 'ended') == 1
if not fresh then
  local live = 0
  for _, m in ipairs(redis.call('SMEMBERS', KEYS[2])) do
    if redis.call('EXISTS', ARGV[5] .. m) == 1 then live = live + 1 end
  end
  fresh = live == 0
end
local created = 0
if fresh then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
  redis.call('HSET', KEYS[1], 'id', ARGV[4], 'started', ARGV[2], 'creator', ARGV[1])
  while redis.call('LMOVE', KEYS[6], KEYS[7], 'RIGHT', 'LEFT') do end
  id = ARGV[4]
  created = 1
end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'workers', 1)
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return {id, created}
"""

# KEYS: run, members   ARGV: worker, run id, worker-key prefix, now, status, counts (json)
# Returns -1 if the run is not ours any more (Redis lost it), 1 if we were the last live
# member (the run has ended), else 0.
_LEAVE = """
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[2] then return -1 end
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'status:' .. ARGV[1], ARGV[5], 'counts:' .. ARGV[1], ARGV[6])
for _, m in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('EXISTS', ARGV[3] .. m) == 1 then return 0 end
end
redis.call('HSET', KEYS[1], 'ended', ARGV[4])
return 1
"""


def combined_status(statuses: list[str]) -> str:
    """One status for a run from its workers': stopped from outside wins (the run is not
    complete), then ``ok`` if any worker got something, else ``failed``."""
    if not statuses:
        return "failed"
    if "interrupted" in statuses:
        return "interrupted"
    if all(s == "failed" for s in statuses):
        return "failed"
    return "ok"


@dataclass
class Leave:
    last: bool  # this worker ended the run: it closes the SQL record
    lost: bool  # the run vanished from Redis (restart without persistence, deleted keys)
    statuses: dict[str, str]  # worker -> its status, for the record
    workers: int


class RunMembership:
    """This worker's membership of the current run of one source, and its liveness key."""

    def __init__(self, server: Any, keys: SourceKeys, worker: str, *, ttl: float, run_ttl: int) -> None:
        self.server, self.keys, self.worker = server, keys, worker
        self.ttl, self.run_ttl = ttl, run_ttl
        self.run_id: str | None = None
        self.created = False
        self.counters: dict[str, int] = {}  # published with each heartbeat
        self._join = server.register_script(_JOIN)
        self._leave = server.register_script(_LEAVE)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.started = time.time()
        self.beat_error: str | None = None

    # -- liveness -----------------------------------------------------------------------
    def beat(self) -> None:
        """Renew our liveness key (what we are, in its value) and the run's keys' expiry."""
        k = self.keys
        host, pid = worker_pid(self.worker)
        value = json.dumps({"host": host, "pid": pid, "since": self.started, "run": self.run_id,
                            **self.counters})
        pipe = self.server.pipeline(transaction=False)
        pipe.set(k.worker(self.worker), value, px=int(self.ttl * 1000))
        pipe.sadd(k.holders, self.worker)
        for key in (k.run, k.members, *k.run_scoped):
            pipe.expire(key, self.run_ttl)
        pipe.execute()

    def start(self) -> None:
        self.beat()
        self._thread = threading.Thread(target=self._run, name=f"frontier-beat-{self.keys.source}",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.ttl / 8):
            try:
                self.beat()
                self.beat_error = None
            except Exception as exc:  # Redis away: the reactor side notices and decides
                self.beat_error = f"{type(exc).__name__}: {exc}"

    def stop(self) -> None:
        """Stop renewing (before handing our requests back, so we do not re-register)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def forget(self) -> None:
        """Remove our liveness key: we are gone, no need to wait for it to expire."""
        try:
            self.server.delete(self.keys.worker(self.worker))
        except Exception as exc:
            log.warning("source %s: could not remove worker key: %s", self.keys.source, exc)

    # -- the run ------------------------------------------------------------------------
    def join(self) -> str:
        rid, created = self._join(
            keys=[self.keys.run, self.keys.members, self.keys.seen, self.keys.seeds, self.keys.robots,
                  self.keys.later, self.keys.queue],
            args=[self.worker, f"{time.time():.3f}", self.run_ttl, uuid.uuid4().hex[:12],
                  self.keys.worker("")])
        self.run_id = rid.decode() if isinstance(rid, bytes) else str(rid)
        self.created = bool(int(created))
        return self.run_id

    def still_ours(self) -> bool:
        """False when the run vanished or was replaced: Redis lost our state."""
        rid = self.server.hget(self.keys.run, "id")
        return rid is not None and (rid.decode() if isinstance(rid, bytes) else rid) == self.run_id

    def claim_seeds(self) -> bool:
        """The first worker of the run to ask fetches the run's feeds, sitemaps and listing
        pages; the others only take articles from the queue."""
        k = self.keys.seeds
        if self.server.set(k, self.worker, nx=True, ex=self.run_ttl):
            return True
        owner = self.server.get(k)
        return (owner.decode() if isinstance(owner, bytes) else owner) == self.worker

    def record_id(self, create: Callable[[], int], wait: float) -> int:
        """The SQL run record shared by the run's workers; the first to claim it creates it
        (with `create`), the others wait for its id. Should its creator die first, a worker
        records the run itself rather than not at all."""
        k = self.keys.run
        if self.server.hsetnx(k, "record_claim", self.worker):
            rid = create()
            self.server.hset(k, "record", rid)
            return rid
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            value = self.server.hget(k, "record")
            if value is not None:
                return int(value)
            time.sleep(0.05)
        log.warning("source %s: the run's creator did not record it in %.0fs; recording it here",
                    self.keys.source, wait)
        return create()

    def leave(self, status: str, counts: dict[str, int]) -> Leave:
        k = self.keys
        r = int(self._leave(keys=[k.run, k.members],
                            args=[self.worker, self.run_id or "", k.worker(""), f"{time.time():.3f}",
                                  status, json.dumps(counts)]))
        if r < 0:
            return Leave(last=True, lost=True, statuses={self.worker: status}, workers=1)
        raw = self.server.hgetall(k.run)
        fields = {(a.decode() if isinstance(a, bytes) else a): (b.decode() if isinstance(b, bytes) else b)
                  for a, b in raw.items()}
        statuses = {f.split(":", 1)[1]: v for f, v in fields.items() if f.startswith("status:")}
        return Leave(last=r == 1, lost=False, statuses=statuses, workers=int(fields.get("workers", 1)))
