"""`defnews schedule` as a real process against the fixture web: runs, crashes, backoff,
restarts and shutdown. Figures (runs counted, time to exit) are printed with -s."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.web.aggsite import config_text, env, query, start_sites, stop_group, wait_for, write_config
from tests.conftest import ROOT, defnews_cmd, run_defnews

# Makes the crawl of the source named by DEFNEWS_TEST_CRASH_SOURCE raise inside the crawl,
# the way a bug would: crawler.runner's run_crawl is swapped, when the module is imported,
# for one that raises for that source. Installed through sitecustomize so the real,
# unmodified command runs, whether the crawl is a fresh process or forked by the zygote
# (which imported crawler.runner before any crawl): the check is made at call time.
SITECUSTOMIZE = '''
import os, sys
_victim = os.environ.get("DEFNEWS_TEST_CRASH_SOURCE")
if _victim:
    import importlib.abc, importlib.machinery

    class _Crash(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path, target=None):
            if fullname != "crawler.runner":
                return None
            sys.meta_path.remove(self)
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
            run = spec.loader.exec_module

            def exec_module(module):
                run(module)
                real = module.run_crawl

                def run_crawl(cfg, sources, *args, **kwargs):
                    if any(s.name == _victim for s in sources):
                        raise RuntimeError("injected crash in the crawl of " + _victim)
                    return real(cfg, sources, *args, **kwargs)
                module.run_crawl = run_crawl

            spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, _Crash())
'''


class Scheduler:
    """`defnews schedule` in its own process group, output to files (never a full pipe)."""

    def __init__(self, tmp_path: Path, cfg: Path, *args: str, extra_env: dict[str, str] | None = None) -> None:
        self.out = open(tmp_path / "schedule.out", "w+", encoding="utf-8")
        self.err = open(tmp_path / "schedule.err", "w+", encoding="utf-8")
        self.proc = subprocess.Popen([*defnews_cmd(), "--config", str(cfg), *args, "schedule"], cwd=ROOT,
                                     env=env(**(extra_env or {})), stdin=subprocess.DEVNULL,
                                     stdout=self.out, stderr=self.err, start_new_session=True)
        self.started = time.monotonic()

    def stderr(self) -> str:
        if not self.err.closed:
            self.err.flush()
        return Path(self.err.name).read_text(encoding="utf-8")

    def terminate(self, sig: int = signal.SIGTERM) -> float:
        """Send `sig`, return the seconds until the process exited."""
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the scheduler did not exit within 30s of {sig!r}:\n{self.stderr()}") from None
        return time.monotonic() - t0

    def close(self) -> None:
        stop_group(self.proc)
        self.out.close()
        self.err.close()


def _runs(db: Path, source: str, status: str | None = None) -> list[tuple]:
    sql = "SELECT id, status, started_at, ended_at, pages, new FROM crawl_runs WHERE source = ?"
    args: list = [source]
    if status:
        sql += " AND status = ?"
        args.append(status)
    return query(db, sql + " ORDER BY id", *args)


def test_two_sources_every_2s_a_crash_and_a_clean_stop(tmp_path: Path) -> None:
    web, sites = start_sites(("one", "127.0.0.1", 3), ("two", "127.0.0.2", 3))
    db = tmp_path / "defnews.db"
    boom = {"name": "boom", "url": sites["one"].site.base + "/", "feeds": [sites["one"].site.url("/boom/")]}
    cfg = write_config(tmp_path, db, sites, extra=[boom])
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    s = Scheduler(tmp_path, cfg, extra_env={"DEFNEWS_TEST_CRASH_SOURCE": "boom",
                                            "PYTHONPATH": f"{ROOT}{os.pathsep}{hook}"})
    try:
        def enough() -> bool:
            assert s.proc.poll() is None, f"the scheduler died:\n{s.stderr()}"
            return (len(_runs(db, "one", "ok")) >= 2 and len(_runs(db, "two", "ok")) >= 2
                    and len(_runs(db, "boom", "crashed")) >= 1)

        took = wait_for(enough, 120, "two runs of each source", step=0.2)
        counted = {n: len(_runs(db, n)) for n in ("one", "two", "boom")}
        if os.environ.get("DEFNEWS_TEST_SHOW"):
            print(s.stderr())
        exit_s = s.terminate()
        print(f"\nscheduler: {counted} runs started in {took:.1f}s; exited {exit_s:.1f}s after SIGTERM")
        assert s.proc.returncode == 0, s.stderr()
        assert exit_s < 15, f"exit took {exit_s:.1f}s"
    finally:
        s.close()
        web.stop()

    err = Path(tmp_path / "schedule.err").read_text(encoding="utf-8")
    statuses = query(db, "SELECT source, status, ended_at IS NOT NULL FROM crawl_runs")
    assert statuses and all(st != "running" for _, st, _ in statuses), statuses
    assert all(ended for _, st, ended in statuses if st != "killed"), "every finished run has its end"
    # the first run of each fetched its stories; later runs got 304 and stored nothing new
    for n in ("one", "two"):
        first = _runs(db, n)[0]
        assert first[1] == "ok" and first[5] == 3, first
    assert query(db, "SELECT count(*), count(DISTINCT url) FROM stories") == [(6, 6)], "no story twice"
    crashed = query(db, "SELECT error FROM crawl_runs WHERE source = 'boom' AND status = 'crashed'")
    assert crashed and "injected crash in the crawl of boom" in crashed[0][0]
    assert "source boom: run" in err and "crashed" in err
    assert "scheduler stopped in" in err
    assert query(db, "SELECT count(*) FROM source_locks WHERE source = '@scheduler'") == [(0,)]


def test_a_dead_source_backs_off_and_says_so(tmp_path: Path) -> None:
    web, sites = start_sites(("one", "127.0.0.1", 1))
    web.stop()  # nothing listens there any more: every run fails
    db = tmp_path / "defnews.db"
    cfg = write_config(tmp_path, db, sites)
    s = Scheduler(tmp_path, cfg)
    try:
        def failed_runs() -> list[tuple]:
            assert s.proc.poll() is None, f"the scheduler died:\n{s.stderr()}"
            return _runs(db, "one", "failed")

        wait_for(lambda: len(failed_runs()) >= 4, 120, "four failed runs", step=0.2)
        r = run_defnews("--config", str(cfg), "sources", "--json")
        row = json.loads(r.stdout)[0]
        exit_s = s.terminate()
        assert exit_s < 15
    finally:
        s.close()
    from datetime import datetime

    starts = [datetime.fromisoformat(r[2]) for r in _runs(db, "one")]
    gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:])]
    print(f"\ndead source: gaps between runs {[round(g, 1) for g in gaps]} s; exit {exit_s:.1f}s")
    assert gaps[2] > gaps[1] > gaps[0], "retried less and less often"
    assert gaps[2] >= 8 - 0.5, "after 3 failures the next run waits 4 periods (every 2s)"
    assert row["failures_in_a_row"] >= 4 and "backing off" in row["status"], row
    assert row["backoff_until"] and row["next_run"] >= row["backoff_until"], row
    assert "Connection refused" in (row["last_error"] or "") or "refused" in (row["last_error"] or ""), row
    assert "failures in a row: backing off until" in s.stderr()


def test_next_runs_survive_a_restart_and_sighup_reloads(tmp_path: Path) -> None:
    web, sites = start_sites(("one", "127.0.0.1", 2), ("two", "127.0.0.2", 2))
    db = tmp_path / "defnews.db"
    only_one = {"one": sites["one"]}
    cfg = write_config(tmp_path, db, only_one, schedule="every 1h")

    def next_run(source: str) -> float | None:
        rows = query(db, "SELECT next_run_time FROM defnews_scheduler_jobs WHERE id = ?", f"crawl:{source}")
        return rows[0][0] if rows else None

    try:
        s = Scheduler(tmp_path, cfg)
        try:
            wait_for(lambda: len(_runs(db, "one", "ok")) == 1, 90, "the first run, at once")
            first_next = next_run("one")
            assert first_next is not None and first_next - time.time() > 3000, "next in about an hour"
            assert s.terminate() < 15
        finally:
            s.close()

        s = Scheduler(tmp_path, cfg)
        try:
            wait_for(lambda: "scheduler started" in s.stderr(), 60, "the restart")
            time.sleep(4)
            assert len(_runs(db, "one")) == 1, "no run at restart: the stored next run is kept"
            assert next_run("one") == first_next

            # SIGHUP: a source added to config.yaml is scheduled (and runs at once).
            sources = [{"name": n, "url": x.site.base + "/", "feeds": [x.feed_url], "schedule": "every 1h"}
                       for n, x in sites.items()]
            cfg.write_text(config_text(f"sqlite:///{db}", sources), encoding="utf-8")
            s.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: len(_runs(db, "two", "ok")) == 1, 90, "the new source's first run")
            assert len(_runs(db, "one")) == 1
            assert "reloaded: 2 sources" in s.stderr()
            assert s.terminate() < 15
        finally:
            s.close()
    finally:
        web.stop()


def test_second_scheduler_on_one_database_refuses(tmp_path: Path) -> None:
    web, sites = start_sites(("one", "127.0.0.1", 1))
    db = tmp_path / "defnews.db"
    cfg = write_config(tmp_path, db, sites, schedule="every 1h")
    s = Scheduler(tmp_path, cfg)
    try:
        wait_for(lambda: "scheduler started" in s.stderr(), 60, "the first scheduler")
        r = run_defnews("--config", str(cfg), "schedule", timeout=60)
        assert r.returncode == 1 and "already runs on this database" in r.stderr
        assert s.terminate() < 15
    finally:
        s.close()
        web.stop()


def test_sigterm_mid_crawl_stops_it_cleanly_with_what_it_fetched(tmp_path: Path) -> None:
    web, sites = start_sites(("one", "127.0.0.1", 10))
    one = sites["one"]
    one.article_delay = 1.5
    db = tmp_path / "defnews.db"
    cfg = write_config(tmp_path, db, sites, schedule="every 1h", per_domain=2,
                       concurrency=2)  # Scrapy finishes what its downloader holds
    s = Scheduler(tmp_path, cfg)
    paths = {a.path for a in one.articles}
    try:
        wait_for(lambda: any(h.path in paths for h in web.hits()), 90, "the first article requests")
        exit_s = s.terminate()
        fetched = sum(1 for h in web.hits() if h.path in paths)
        print(f"\nSIGTERM mid-crawl: {fetched} articles served, exit {exit_s:.1f}s")
        assert s.proc.returncode == 0 and exit_s < 15, s.stderr()
    finally:
        s.close()
        web.stop()
    runs = query(db, "SELECT status, pages, new, ended_at IS NOT NULL FROM crawl_runs")
    assert len(runs) == 1 and runs[0][0] != "running" and runs[0][3], runs
    stored = query(db, "SELECT count(*) FROM stories")[0][0]
    assert stored == runs[0][2] == runs[0][1] > 0, "what was fetched is stored"
    assert stored <= fetched < 10, "the crawl was cut short"
    assert runs[0][0] == "interrupted", runs


@pytest.mark.postgres
def test_scheduler_on_postgresql(tmp_path: Path, pg_url: str, unique: str) -> None:
    """Job store, locks and run records in PostgreSQL (what a multi-machine setup uses)."""
    from sqlalchemy import create_engine, text

    from tests.web.aggsite import pg_schema

    web, sites = start_sites(("one", "127.0.0.1", 2))
    with pg_schema(pg_url, f"sched_{unique}") as url:
        cfg = tmp_path / "config.yaml"
        src = [{"name": "one", "url": sites["one"].site.base + "/", "feeds": [sites["one"].feed_url]}]
        cfg.write_text(config_text(url, src), encoding="utf-8")
        engine = create_engine(url)

        def ok_runs() -> int:
            with engine.connect() as con:
                try:
                    return con.execute(text("SELECT count(*) FROM crawl_runs WHERE status = 'ok'")).scalar()
                except Exception:
                    return 0

        s = Scheduler(tmp_path, cfg)
        try:
            wait_for(lambda: ok_runs() >= 2, 120, "two runs on PostgreSQL", step=0.3)
            assert s.terminate() < 15
        finally:
            s.close()
            web.stop()
        with engine.connect() as con:
            assert con.execute(text("SELECT count(*), count(DISTINCT url) FROM stories")).one() == (2, 2)
            assert con.execute(text("SELECT count(*) FROM defnews_scheduler_jobs")).scalar() == 1
            assert con.execute(text("SELECT count(*) FROM crawl_runs WHERE status = 'running'")).scalar() == 0
        engine.dispose()
