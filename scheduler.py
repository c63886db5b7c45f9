"""`defnews schedule`: every source crawled on its own schedule, unattended, for months.

How it works, and why:

- APScheduler 3, one job per source (``crawl:<name>``), its trigger from the source's
  ``schedule`` ("every 45s/10m/2h" or a 5-field cron line read in this machine's local
  time, like cron). Jobs live in the project's database (table ``defnews_scheduler_jobs``,
  SQLAlchemyJobStore), so next-run times survive restarts.
- A source new to the job store runs at once. After a restart the stored next-run times
  are kept; a run that fell due while the scheduler was down runs at once, once
  (coalesced). ``max_instances=1``: a source is never crawled twice at the same time.
- Each crawl is a child process, ``defnews crawl --source NAME``: Twisted's reactor cannot
  be restarted, and a crawl that crashes must not take the scheduler down. The child takes
  the source's database lock itself, so cron jobs and schedulers on other machines do not
  overlap with it either. Children are forked from a warm zygote (crawler/zygote.py) that
  imported everything once: an idle run costs ~0.15 s of CPU instead of ~3 s of imports.
  Without a zygote (it cannot start, or DEFNEWS_ZYGOTE=off) they are fresh interpreters.
- A source that keeps failing is backed off (storage/runs.py): its job's next run is
  moved to the first scheduled time after ``backoff_until``; the log and
  `defnews sources` say so.
- SIGINT/SIGTERM: no new job starts, each running crawl gets SIGTERM (Scrapy stops it
  cleanly and stores what it fetched); what still runs after SHUTDOWN_GRACE seconds is
  SIGKILLed with its process group. The scheduler exits within 15 seconds.
- SIGHUP re-reads config.yaml: sources added, removed or rescheduled take effect at once
  (a change of ``database`` needs a restart). A restart picks up any change as well.

APScheduler pickles jobs as a textual function reference plus arguments, so live state
(the running children) cannot travel in a job. The jobs therefore name `crawl_source` only
as a reference; `CrawlExecutor` runs them with this process's `SourceRunner`.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from apscheduler.executors.base import run_job
from apscheduler.executors.pool import BasePoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from crawler import defaults
from crawler.config import (Config, ConfigError, SourceConfig, first_run_after, load_config, make_trigger,
                            misfire_grace, resolve_config_path, schedule_period)
from crawler.zygote import Zygote
from storage.db import DatabaseError, open_db
from storage.health import JOB_PREFIX, job_id, scheduler_job_store
from storage.holders import make_holder
from storage.locks import Heartbeat, acquire, lock_info, release
from storage.runs import apply_backoff, backoff_until, last_run_of, record_exit, set_next_run

log = logging.getLogger("defnews.scheduler")

#: Seconds a running crawl gets to stop cleanly after SIGTERM before it is SIGKILLed.
SHUTDOWN_GRACE = defaults.SHUTDOWN_GRACE
#: The whole shutdown, SIGKILL and bookkeeping included, stays under this.
SHUTDOWN_BUDGET = defaults.SHUTDOWN_BUDGET
#: Name of the scheduler's own lock row (source names cannot contain "@").
SCHEDULER_LOCK = "@scheduler"
EXECUTOR = "crawl"
PROJECT_ROOT = Path(__file__).resolve().parent


def crawl_source(source: str, schedule: str = "") -> None:
    """The job reference stored in the job store; `CrawlExecutor` runs the real thing."""
    raise RuntimeError(f"source {source}: scheduled crawls run through `defnews schedule`")


# -- running one crawl --------------------------------------------------------------------

class SourceRunner:
    """Starts `defnews crawl --source NAME` children, watches them, stops them on shutdown."""

    def __init__(self, cfg: Config, *, config_path: str, db_override: str | None, quiet: bool,
                 verbose: int, factory: Any) -> None:
        self.cfg = cfg
        self.config_path = str(Path(config_path).resolve())
        self.db_override = db_override
        self.quiet, self.verbose = quiet, verbose
        self.factory = factory
        self.scheduler: BackgroundScheduler | None = None
        self.stopping = threading.Event()
        self.children: dict[str, subprocess.Popen] = {}
        self._lock = threading.Lock()
        self._active = 0
        self._idle = threading.Condition(self._lock)
        self.zygote: Zygote | None = None
        self._zygote_started = threading.Event()

    # The job body. Runs on an executor thread; never raises into APScheduler for a crawl
    # that went wrong (that is recorded in SQL), only for a bug here.
    def run(self, name: str, schedule: str = "") -> None:
        with self._lock:
            self._active += 1
        try:
            self._run(name)
        finally:
            with self._lock:
                self._active -= 1
                self._idle.notify_all()

    def _run(self, name: str) -> None:
        if self.stopping.is_set():
            return
        try:
            src = self.cfg.source(name)
        except KeyError:
            log.warning("source %s: no longer in %s; run skipped", name, self.config_path)
            return
        until, failures = backoff_until(self.factory, name)
        if until is not None:
            nxt = self._defer(src, until)
            why = f"after {_failures(failures)} in a row" if failures else "as the server asked (Retry-After)"
            log.warning("source %s: backing off %s until %s; run skipped (next run %s)",
                        name, why, _t(until), _t(nxt))
            return
        self._crawl(src)

    def _command(self, name: str) -> list[str]:
        cmd = [sys.executable, "-m", "crawler.cli", "--config", self.config_path]
        if self.db_override:
            cmd += ["--db", self.db_override]
        if self.verbose:
            cmd += ["-" + "v" * self.verbose]
        else:
            cmd += ["-q"]  # the child reports only errors; this process logs the run
        return cmd + ["crawl", "--source", name]

    def _crawl(self, src: SourceConfig) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH")) if p)
        started = datetime.now(timezone.utc)
        t0 = time.monotonic()
        zygote = self._ready_zygote()  # outside the lock: it may still be importing
        with self._lock:
            if self.stopping.is_set():
                return
            try:
                proc = self._spawn(zygote, src.name, env)
            except OSError as exc:
                log.error("source %s: cannot start the crawl process: %s", src.name, exc)
                return
            self.children[src.name] = proc
        tail: deque[str] = deque(maxlen=30)
        reader = threading.Thread(target=_pump, args=(proc, tail), daemon=True,
                                  name=f"defnews-stderr-{src.name}")
        reader.start()
        log.info("source %s: crawl started (pid %d)", src.name, proc.pid)
        rc = proc.wait()
        reader.join(timeout=2)
        with self._lock:
            self.children.pop(src.name, None)
            killed_by_us = self.stopping.is_set()
        elapsed = time.monotonic() - t0
        if rc != 0:
            # A crawl that leaves its run open exits non-zero. Stopped by our shutdown:
            # "interrupted" if it exited by itself, "killed" if it had to be (or died of our
            # SIGTERM before Scrapy could catch it); otherwise it "crashed" (a failure).
            status = ("killed" if rc < 0 else "interrupted") if killed_by_us else "crashed"
            how = f"signal {-rc}" if rc < 0 else f"exit code {rc}"
            error = f"crawl process {proc.pid} ended with {how}"
            if killed_by_us:
                error += " after the scheduler was asked to stop"
            lines = [ln.rstrip() for ln in tail if ln.strip()]
            if getattr(proc, "lost", ""):
                lines.append(proc.lost)
            if lines:  # the last line of a traceback names the exception: put it first
                error += f": {lines[-1]}\n" + "\n".join(lines)
            # No-op when the crawl closed its run itself (e.g. every seed failed: exit 1).
            record_exit(self.factory, src.name, src.url, pid=proc.pid, started_at=started,
                        status=status, error=error)
        until = apply_backoff(self.factory, src.name, schedule_period(src.schedule))
        self._report(src, proc.pid, started, elapsed, getattr(proc, "cpu", None))
        if until is not None and not self.stopping.is_set():
            _, failures = backoff_until(self.factory, src.name)
            nxt = self._defer(src, until)
            why = f"{_failures(failures)} in a row" if failures else "the server asked (Retry-After)"
            log.warning("source %s: %s: backing off until %s (next run %s)",
                        src.name, why, _t(until), _t(nxt))
        else:
            self._note_next_run(src.name)

    # -- starting crawl processes -----------------------------------------------------------
    def start_zygote(self) -> None:
        """Start the warm zygote in the background (crawler/zygote.py); runs wait for it."""
        if os.environ.get("DEFNEWS_ZYGOTE", "on") == "off":
            return
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH")) if p)
        zygote = Zygote(os.getcwd(), env)  # the crawls' working directory, as before
        self.zygote = zygote

        def start() -> None:
            try:
                zygote.start()
            except OSError as exc:
                log.error("%s; crawls start as plain processes", exc)
                self.zygote = None
            finally:
                self._zygote_started.set()

        threading.Thread(target=start, daemon=True, name="defnews-zygote-start").start()

    def _ready_zygote(self) -> Zygote | None:
        """The zygote once it has started (None: plain processes), or None when stopping."""
        if self.zygote is None:
            return None
        while not self._zygote_started.wait(0.25):
            if self.stopping.is_set():
                return None
        zygote = self.zygote
        if zygote is not None and not zygote.alive and not self.stopping.is_set():
            try:
                zygote.ensure()  # it died: a new one, before the run lock is taken
            except OSError as exc:
                log.error("%s; this crawl starts as a plain process", exc)
                return None
        return zygote

    def _spawn(self, zygote: Zygote | None, name: str, env: dict[str, str]) -> Any:
        """A crawl process: forked by the zygote, or (without one) a fresh interpreter."""
        if zygote is not None:
            r, w = os.pipe()
            out = 1 if self.verbose else os.open(os.devnull, os.O_WRONLY)
            try:
                return zygote.spawn(self._command(name)[3:], stdout=out, stderr=w,
                                    stderr_file=os.fdopen(r, "rb"))
            except OSError as exc:
                os.close(r)
                log.warning("source %s: %s; starting the crawl as a plain process", name, exc)
            finally:
                os.close(w)
                if out != 1:
                    os.close(out)
        # The child's summary table is left out (this process logs one line per run
        # from the run record); its errors come through stderr.
        return subprocess.Popen(self._command(name), env=env, stdin=subprocess.DEVNULL,
                                stdout=None if self.verbose else subprocess.DEVNULL,
                                stderr=subprocess.PIPE, start_new_session=True)

    def _report(self, src: SourceConfig, pid: int, started: datetime, elapsed: float,
                cpu: float | None = None) -> None:
        """One line per run, from the run record the crawl wrote."""
        run = last_run_of(self.factory, src.name, pid, started - timedelta(seconds=5))
        if run is None:  # `defnews crawl` found the source locked: a crawl from cron or elsewhere
            log.warning("source %s: skipped: another crawl of it is running (pid %d found it locked)",
                        src.name, pid)
            return
        took = f"{elapsed:.1f}s" if cpu is None else f"{elapsed:.1f}s (CPU {cpu:.2f}s)"
        line = (f"source {src.name}: run {run.id} {run.status} in {took}: pages {run.pages}, "
                f"new {run.new}, duplicates {run.duplicates}, rejected {run.rejected}, failed {run.failed}")
        if run.status in ("failed", "crashed"):
            first = (run.error or "").strip().splitlines()[:1]
            log.error("%s%s", line, f" ({first[0]})" if first else "")
        elif run.status in ("killed", "interrupted"):
            log.warning(line)
        else:
            log.info(line)

    def _defer(self, src: SourceConfig, until: datetime) -> datetime | None:
        """Move the source's next run to its first scheduled time at or after `until`."""
        scheduler = self.scheduler
        if scheduler is None or self.stopping.is_set():
            return None
        nxt = first_run_after(make_trigger(src.schedule), until)
        try:
            job = scheduler.get_job(job_id(src.name))
            if job is not None and nxt is not None and (job.next_run_time is None or job.next_run_time < nxt):
                scheduler.modify_job(job.id, next_run_time=nxt)
        except Exception as exc:  # shutting down under us
            log.debug("source %s: cannot move the next run: %s", src.name, exc)
        self._set_next_run(src.name, nxt)
        return nxt

    def _note_next_run(self, name: str) -> None:
        if self.scheduler is None or self.stopping.is_set():
            return
        try:
            job = self.scheduler.get_job(job_id(name))
        except Exception:
            return
        self._set_next_run(name, job.next_run_time if job else None)

    def _set_next_run(self, name: str, when: datetime | None) -> None:
        try:
            set_next_run(self.factory, name, when)
        except Exception as exc:
            log.debug("source %s: cannot record the next run: %s", name, exc)

    # -- shutdown -------------------------------------------------------------------------
    def stop_children(self, grace: float, deadline: float) -> None:
        """SIGTERM every running crawl, wait up to `grace`, then SIGKILL their groups."""
        with self._lock:
            self.stopping.set()
            procs = dict(self.children)
        for name, proc in procs.items():
            log.warning("source %s: stopping the running crawl (pid %d)", name, proc.pid)
            _signal(proc.pid, signal.SIGTERM, group=False)
        end = min(time.monotonic() + grace, deadline)
        for proc in procs.values():
            _wait(proc, end)
        for name, proc in procs.items():
            if proc.poll() is None:
                log.error("source %s: crawl (pid %d) did not stop within %.0fs: killed", name, proc.pid, grace)
                _signal(proc.pid, signal.SIGKILL, group=True)
            else:
                _signal(proc.pid, signal.SIGKILL, group=True)  # stray pool workers, if any
        for proc in procs.values():
            _wait(proc, deadline)

    def wait_idle(self, deadline: float) -> bool:
        with self._idle:
            while self._active > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True


def _pump(proc: subprocess.Popen, tail: deque[str]) -> None:
    """Pass the child's stderr through to ours and keep its last lines for the run record."""
    assert proc.stderr is not None
    for raw in iter(proc.stderr.readline, b""):
        line = raw.decode("utf-8", "replace")
        tail.append(line)
        try:
            sys.stderr.write(line)
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
    proc.stderr.close()


def _signal(pid: int, sig: int, *, group: bool) -> None:
    try:
        if group:
            os.killpg(pid, sig)  # start_new_session: the child leads its own group
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _wait(proc: subprocess.Popen, until: float) -> None:
    try:
        proc.wait(timeout=max(until - time.monotonic(), 0.01))
    except subprocess.TimeoutExpired:
        pass


def _failures(n: int) -> str:
    return f"{n} failure" if n == 1 else f"{n} failures"


def _t(when: datetime | None) -> str:
    return when.astimezone(timezone.utc).isoformat(timespec="seconds") if when else "unknown"


class CrawlExecutor(BasePoolExecutor):
    """A thread-pool executor that runs every job with `runner` instead of the job's func.

    Misfire handling, max_instances and events stay APScheduler's own (`run_job`)."""

    def __init__(self, runner: SourceRunner, max_workers: int) -> None:
        super().__init__(concurrent.futures.ThreadPoolExecutor(max_workers, thread_name_prefix="defnews-job"))
        self.runner = runner

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        def done(f: Any) -> None:
            exc = f.exception()
            if exc:
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, f.result())

        f = self._pool.submit(run_job, _BoundJob(job, self.runner.run), job._jobstore_alias,
                              run_times, self._logger.name)
        f.add_done_callback(done)


class _BoundJob:
    """What `run_job` needs of a job, with the function swapped for the live runner."""

    def __init__(self, job: Any, func: Any) -> None:
        self.id, self.misfire_grace_time = job.id, job.misfire_grace_time
        self.args, self.kwargs, self.func = job.args, job.kwargs, func
        self._name = str(job)

    def __str__(self) -> str:
        return self._name


# -- the scheduler --------------------------------------------------------------------------

def sync_jobs(scheduler: BackgroundScheduler, cfg: Config, factory: Any) -> None:
    """Make the job store match config.yaml: one job per source, stored times kept."""
    now = datetime.now(timezone.utc)
    wanted = {job_id(s.name): s for s in cfg.sources}
    for job in scheduler.get_jobs():
        if job.id.startswith(JOB_PREFIX) and job.id not in wanted:
            scheduler.remove_job(job.id)
            log.info("source %s: no longer configured; its schedule is dropped", job.id[len(JOB_PREFIX):])
    for jid, src in wanted.items():
        trigger = make_trigger(src.schedule)
        until, _ = backoff_until(factory, src.name)
        job = scheduler.get_job(jid)
        if job is not None and job.kwargs.get("schedule") == src.schedule:
            nrt = job.next_run_time
            if nrt is None or nrt <= now:
                nrt = now  # fell due while we were down: run it now, once
            if until is not None and nrt < until:
                nrt = first_run_after(trigger, until) or nrt
            if nrt != job.next_run_time:
                scheduler.modify_job(jid, next_run_time=nrt)
            continue
        nrt = now if until is None else (first_run_after(trigger, until) or now)
        scheduler.add_job(
            "scheduler:crawl_source", trigger=trigger, args=[src.name], kwargs={"schedule": src.schedule},
            id=jid, name=f"crawl {src.name}", executor=EXECUTOR, replace_existing=True,
            max_instances=1, coalesce=True, misfire_grace_time=misfire_grace(src.schedule),
            next_run_time=nrt,
        )
        if job is not None:
            log.info("source %s: schedule changed to %r", src.name, src.schedule)


def _setup_logging(quiet: bool, verbose: int) -> None:
    """One line per run on stderr (unless -q); APScheduler's chatter only with -v."""
    if not quiet:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
        log.addHandler(handler)
        log.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
        log.propagate = False
    logging.getLogger("apscheduler").setLevel(logging.INFO if verbose > 1 else
                                              logging.WARNING if verbose else logging.ERROR)


def run_scheduler(cfg: Config, *, config_path: str, db_override: str | None = None,
                  quiet: bool = False, verbose: int = 0) -> int:
    """Run until SIGINT/SIGTERM; 0 on a clean stop, 1 if it could not start."""
    _setup_logging(quiet, verbose)
    if not cfg.sources:
        log.error("%s: sources: no sources configured; nothing to schedule", config_path)
        return 1
    try:
        engine, factory = open_db(cfg.database)
    except DatabaseError as exc:
        log.error("%s", exc)
        return 1
    holder = make_holder()
    if not acquire(factory, SCHEDULER_LOCK, holder):
        info = lock_info(factory, SCHEDULER_LOCK)
        log.error("another `defnews schedule` already runs on this database (%s); exiting",
                  info.holder if info else "unknown")
        engine.dispose()
        return 1
    heartbeat = Heartbeat(factory, [SCHEDULER_LOCK], holder).start()

    stop, reload = threading.Event(), threading.Event()

    def on_stop(signum: int, _frame: Any) -> None:
        stop.set()

    def on_hup(signum: int, _frame: Any) -> None:
        reload.set()

    previous = {s: signal.signal(s, on_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, on_hup)

    runner = SourceRunner(cfg, config_path=config_path, db_override=db_override, quiet=quiet,
                          verbose=verbose, factory=factory)
    scheduler = BackgroundScheduler(
        jobstores={"default": scheduler_job_store(engine)},
        executors={EXECUTOR: CrawlExecutor(runner, max_workers=max(8, 2 * len(cfg.sources)))},
        timezone=timezone.utc,
        job_defaults={"coalesce": True, "max_instances": 1},
    )
    runner.scheduler = scheduler
    runner.start_zygote()
    rc = 0
    try:
        scheduler.start(paused=True)
        sync_jobs(scheduler, cfg, factory)
        for job in scheduler.get_jobs():
            runner._set_next_run(job.args[0], job.next_run_time)
        scheduler.resume()
        log.info("scheduler started on %s: %d sources (%s); SIGHUP reloads %s",
                 socket.gethostname(), len(cfg.sources),
                 ", ".join(f"{s.name}: {s.schedule}" for s in cfg.sources), config_path)
        while not stop.wait(0.25):
            if reload.is_set():
                reload.clear()
                _reload(runner, scheduler, config_path, db_override, factory)
    except Exception as exc:
        log.exception("scheduler failed: %s", exc)
        rc = 1
    finally:
        t0 = time.monotonic()
        deadline = t0 + SHUTDOWN_BUDGET
        log.info("stopping: no new crawls; running crawls get %.0fs to stop", SHUTDOWN_GRACE)
        runner.stopping.set()
        try:
            if scheduler.running:
                scheduler.shutdown(wait=False)
        except Exception as exc:
            log.warning("scheduler shutdown: %s", exc)
        runner.stop_children(SHUTDOWN_GRACE, deadline - 1.0)
        if runner.zygote is not None:
            runner.zygote.close(timeout=max(min(2.0, deadline - 1.0 - time.monotonic()), 0.1))
        if not runner.wait_idle(deadline - 0.5):
            log.error("some run bookkeeping did not finish in time")
        heartbeat.stop()
        try:
            release(factory, SCHEDULER_LOCK, holder)
        except Exception as exc:
            log.warning("releasing the scheduler lock failed: %s", exc)
        engine.dispose()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("scheduler stopped in %.1fs", time.monotonic() - t0)
    return rc


def _reload(runner: SourceRunner, scheduler: BackgroundScheduler, config_path: str,
            db_override: str | None, factory: Any) -> None:
    try:
        cfg = load_config(config_path, db_override)
    except ConfigError as exc:
        log.error("SIGHUP: config not reloaded, keeping the running one: %s", exc)
        return
    if cfg.database != runner.cfg.database:
        log.warning("SIGHUP: %s: database changed; that takes a restart (keeping %s)",
                    config_path, runner.cfg.database)
        cfg = cfg.model_copy(update={"database": runner.cfg.database})
    runner.cfg = cfg
    sync_jobs(scheduler, cfg, factory)
    log.info("SIGHUP: %s reloaded: %d sources", config_path, len(cfg.sources))


def main(argv: list[str] | None = None) -> int:
    """`python scheduler.py [--config PATH] [--db URL] [-q] [-v]`: the same as `defnews schedule`."""
    p = argparse.ArgumentParser(prog="scheduler.py", description="defnews scheduler (= defnews schedule)")
    p.add_argument("--config")
    p.add_argument("--db")
    p.add_argument("-v", "--verbose", action="count", default=0)
    p.add_argument("-q", "--quiet", action="store_true")
    args = p.parse_args(argv)
    path = resolve_config_path(args.config)
    try:
        cfg = load_config(path, args.db)
    except ConfigError as exc:
        print(f"defnews: invalid config: {exc}", file=sys.stderr)
        return 2
    return run_scheduler(cfg, config_path=str(path), db_override=args.db, quiet=args.quiet,
                         verbose=args.verbose)


if __name__ == "__main__":
    sys.exit(main())
