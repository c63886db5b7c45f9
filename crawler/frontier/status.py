"""What `defnews workers` shows: per source, the live workers, what each holds, the queue,
and the leases of dead workers, which it hands back to the queue on the way."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from crawler.frontier.keys import SourceKeys, worker_pid
from crawler.frontier.queue import reap as reap_worker


def _s(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


@dataclass
class WorkerRow:
    worker: str
    host: str
    pid: int | None
    since: float | None
    run: str | None
    holds: int  # requests leased and not finished
    private: int  # navigation requests queued for it (seed owner)
    taken: int  # requests it took this run


@dataclass
class SourceFrontier:
    source: str
    queued: int
    run: str | None
    run_started: float | None
    run_ended: float | None
    seed_owner: str | None
    joined: int
    requeued_total: int  # leases of dead workers handed back, ever
    requeued_now: dict[str, int] = field(default_factory=dict)  # by this look: worker -> n
    workers: list[WorkerRow] = field(default_factory=list)


def inspect_source(server: Any, prefix: str, source: str, *, reap: bool = True) -> SourceFrontier:
    k = SourceKeys(prefix, source)
    run = {_s(a): _s(b) for a, b in server.hgetall(k.run).items()}
    owner = server.get(k.seeds)
    out = SourceFrontier(source=source, queued=int(server.llen(k.queue)), run=run.get("id"),
                         run_started=float(run["started"]) if "started" in run else None,
                         run_ended=float(run["ended"]) if "ended" in run else None,
                         seed_owner=_s(owner) if owner is not None else None,
                         joined=int(run.get("workers", 0)), requeued_total=0)
    for w in sorted(_s(x) for x in server.smembers(k.holders)):
        raw = server.get(k.worker(w))
        if raw is None:  # dead: its requests go back to the queue now
            if reap:
                n = reap_worker(server, k, w)
                if n > 0:
                    out.requeued_now[w] = n
            continue
        info = json.loads(_s(raw))
        host, pid = worker_pid(w)
        out.workers.append(WorkerRow(worker=w, host=info.get("host", host), pid=info.get("pid", pid),
                                     since=info.get("since"), run=info.get("run"),
                                     holds=int(server.llen(k.leases(w))), private=int(server.llen(k.mine(w))),
                                     taken=int(info.get("taken", 0))))
    out.queued = int(server.llen(k.queue))
    out.requeued_total = int(server.get(k.requeued) or 0)
    return out


def as_json(rows: list[SourceFrontier]) -> str:
    return json.dumps([asdict(r) for r in rows], ensure_ascii=False, indent=2)
