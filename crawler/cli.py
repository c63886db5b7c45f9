"""`defnews` command line (CONTRACT.md): argument parsing and exit codes, nothing more.

Exit codes: 0 success; 2 bad usage or invalid config; 1 the command ran but failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Sequence, TextIO

from crawler import __version__, defaults
from crawler.config import Config, ConfigError, SourceConfig, load_config, resolve_config_path, schedule_period
from crawler.items import Page, RunCounts, SourceRules
from crawler.opml import OpmlError, parse_opml, plan_import, sources_opml, sources_yaml, write_sources
from storage.db import DatabaseError, open_db
from storage.export import iso, iter_rows, story_query, write_csv, write_jsonl
from storage.rejections import EXPORT_COLUMNS as REJECTION_COLUMNS, iter_rejections, rejection_query
from storage.health import source_health
from storage.locks import Heartbeat, claim_sources
from storage.runs import prune_runs, record_cpu
from storage.stories import newest_originals

# Heavy modules (Scrapy, Twisted, trafilatura, APScheduler) are imported by the commands
# that use them, so `defnews sources` or `export` start in a fraction of a second.

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
log = logging.getLogger("defnews")


class UsageError(Exception):
    """Bad usage the user can fix (exit 2)."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="defnews", description="Arabic defense-news crawler and RSS aggregator")
    p.add_argument("--version", action="version", version=f"defnews {__version__}")
    p.add_argument("--config", help="config file (default ./config.yaml, else $DEFNEWS_CONFIG)")
    p.add_argument("--db", help="SQLAlchemy database URL (overrides config; env DEFNEWS_DB)")
    p.add_argument("-v", "--verbose", action="count", default=0)
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing unless something failed")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    c = sub.add_parser("crawl", help="one-off crawl of all (or the named) sources")
    c.add_argument("--source", action="append", default=[], metavar="NAME")
    c.add_argument("--full", action="store_true",
                   help="walk every listing page and sitemap entry, even those unchanged since the last run")

    sub.add_parser("schedule", help="run the scheduler in the foreground")

    e = sub.add_parser("export", help="stream stories out as CSV or JSONL")
    e.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    e.add_argument("--out", required=True, help="file path, or - for stdout")
    e.add_argument("--since", type=_iso_arg)
    e.add_argument("--until", type=_iso_arg)
    e.add_argument("--source", action="append", default=[], metavar="NAME")
    e.add_argument("--include-duplicates", action="store_true")
    e.add_argument("--excel", action="store_true", help="CSV for spreadsheets: BOM, formulas neutralised")
    e.add_argument("--rejected", action="store_true",
                   help="list what the relevance filter rejected instead (source, url, title, score, "
                        "threshold, rejected_at, guid; --since/--until on rejected_at)")

    s = sub.add_parser("sources", help="configured sources and their health")
    out = s.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true")
    out.add_argument("--opml", action="store_true", help="print the sources' feeds as OPML 2.0")
    out.add_argument("--import-opml", metavar="FILE",
                     help="add the feeds of an OPML file to the config file as sources")

    w = sub.add_parser("workers", help="workers sharing the Redis frontier: who is alive, what each holds")
    w.add_argument("--json", action="store_true")
    w.add_argument("--no-reap", action="store_true",
                   help="only look: do not hand dead workers' requests back to the queue")

    x = sub.add_parser("extract", help="extract, clean, date and score one page")
    x.add_argument("target", metavar="URL|FILE")
    x.add_argument("--url", help="the URL a saved FILE was fetched from")
    x.add_argument("--source", metavar="NAME", help="apply this source's settings")
    x.add_argument("--json", action="store_true")
    x.add_argument("--explain", "-v", action="store_true",
                   help="show, line by line, what cleaning dropped and by which rule, and the "
                        "relevance terms that counted and their weights")

    f = sub.add_parser("feed", help="write an Atom feed of the newest original stories")
    f.add_argument("--out", required=True, help="file path, or - for stdout")
    f.add_argument("--source", action="append", default=[], metavar="NAME")
    f.add_argument("--limit", type=int, default=defaults.FEED_LIMIT)

    w = sub.add_parser("serve", help="the web reader, in the foreground")
    w.add_argument("--host", default=defaults.SERVE_HOST,
                   help=f"address to listen on (default {defaults.SERVE_HOST})")
    w.add_argument("--port", type=int, default=defaults.SERVE_PORT,
                   help=f"port (default {defaults.SERVE_PORT})")
    w.add_argument("--root-path", default="", metavar="PATH",
                   help="URL prefix when a reverse proxy serves the reader under a path, e.g. /news")
    return p


def _iso_arg(value: str) -> datetime:
    try:
        d = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 date or time: {value!r}") from None
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


def _setup_logging(args: argparse.Namespace) -> str:
    level = logging.ERROR if args.quiet else (logging.DEBUG if args.verbose > 1 else
                                              logging.INFO if args.verbose else logging.WARNING)
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    # scrapy-redis still passes arguments Scrapy deprecated; not the user's concern.
    warnings.filterwarnings("ignore", module="scrapy_redis")
    root.setLevel(level)
    return logging.getLevelName(level)


def _select_sources(cfg: Config, names: list[str]) -> list[SourceConfig]:
    if not names:
        return list(cfg.sources)
    try:
        return [cfg.source(n) for n in names]
    except KeyError as exc:
        raise UsageError(f"--source: {exc.args[0]}") from None


def _open_out(path: str) -> TextIO:
    if path == "-":
        sys.stdout.reconfigure(encoding="utf-8", newline="")
        return sys.stdout
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return open(path, "w", encoding="utf-8", newline="")


# -- commands ---------------------------------------------------------------------------

def cmd_crawl(args: argparse.Namespace, cfg: Config, log_level: str) -> int:
    from crawler.report import print_summary  # heavy: rich
    from crawler.runner import run_crawl  # heavy: Scrapy (the extraction loads in the pool workers)

    sources = _select_sources(cfg, args.source)
    if not sources:
        raise UsageError(f"{args.config_path}: sources: no sources configured")
    # Cron-safe: each source is locked in the database for this process (a source another
    # crawl holds is skipped, exit 0; not with crawl.redis_url, where workers share sources);
    # sources in backoff are skipped unless named.
    engine, factory = open_db(cfg.database)
    claim = claim_sources(factory, [s.name for s in sources], respect_backoff=not args.source,
                          exclusive=not cfg.crawl.redis_url)
    if not args.quiet:
        for line in claim.skipped:
            print(f"defnews: {line}", file=sys.stderr)
    sources = [s for s in sources if s.name in claim.sources]
    if not sources:
        engine.dispose()
        return EXIT_OK
    engine.dispose()  # the crawl forks workers: they inherit no open connection of ours
    heartbeat = Heartbeat(factory, claim.sources, claim.holder).start()
    try:
        results = run_crawl(cfg, sources, log_level="ERROR" if args.quiet else log_level,
                            progress=sys.stderr.isatty() and not args.quiet, full=args.full)
        _bookkeeping(factory, cfg, results)
    finally:
        heartbeat.stop()
        claim.finish(factory, {s.name: schedule_period(s.schedule) for s in sources})  # backoff, unlock
        engine.dispose()
    failed_all = all(r.status == "failed" for r in results)
    aborted = [r for r in results if r.aborted]
    any_failed = any(r.status == "failed" or r.failed or r.aborted for r in results)
    if not args.quiet or any_failed:
        print_summary(results, sys.stdout)
    for r in aborted:  # a worker that could not crawl a source says so, and exits 1
        print(f"defnews: {r.errors[0] if r.errors else f'source {r.source}: the crawl did not complete'}",
              file=sys.stderr)
    return EXIT_FAILED if failed_all or aborted else EXIT_OK


def _bookkeeping(factory: Any, cfg: Config, results: list[RunCounts]) -> None:
    """After a crawl: what each run cost, and retention (run records older than
    crawl.retention_days go), so the database grows with stories, not with runs. Never
    fails the crawl: its stories and run records are already stored."""
    try:
        record_cpu(factory, {r.run_id: r.cpu_s for r in results if r.run_id is not None and r.cpu_s is not None})
        prune_runs(factory, [r.source for r in results],
                   datetime.now(timezone.utc) - timedelta(days=cfg.crawl.retention_days))
    except Exception as exc:  # noqa: BLE001 - bookkeeping only
        log.warning("recording the runs' CPU or pruning old run records failed: %s", exc)


def cmd_export(args: argparse.Namespace, cfg: Config) -> int:
    for name in args.source:
        if not any(s.name == name for s in cfg.sources):
            log.warning("--source %s is not in the config; exporting what is stored for it", name)
    engine, factory = open_db(cfg.database)
    if args.rejected:
        query = rejection_query(since=args.since, until=args.until, sources=args.source)
        columns, read, what = REJECTION_COLUMNS, iter_rejections, "rejected stories"
    else:
        query = story_query(since=args.since, until=args.until, sources=args.source,
                            include_duplicates=args.include_duplicates)
        columns, read, what = None, iter_rows, "stories"
    out = _open_out(args.out)
    try:
        with factory() as session:
            rows = read(session, query)
            if args.format == "jsonl":
                n = write_jsonl(rows, out)
            elif columns is not None:
                n = write_csv(rows, out, excel=args.excel, columns=columns)
            else:
                n = write_csv(rows, out, excel=args.excel)
    finally:
        if out is not sys.stdout:
            out.close()
        else:
            out.flush()
        engine.dispose()
    if not args.quiet and args.out != "-":
        print(f"exported {n} {what} to {args.out}", file=sys.stderr)
    return EXIT_OK


def cmd_sources(args: argparse.Namespace, cfg: Config) -> int:
    if args.opml:
        sys.stdout.reconfigure(encoding="utf-8")  # the document says it is UTF-8
        sys.stdout.write(sources_opml(cfg.sources, created=datetime.now(timezone.utc)))
        return EXIT_OK
    if args.import_opml:
        return cmd_import_opml(args, cfg)
    from crawler.report import print_health  # heavy: rich

    engine, factory = open_db(cfg.database)
    try:
        rows = source_health(factory, cfg.sources)
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        print_health(rows, sys.stdout)
    return EXIT_OK


def cmd_workers(args: argparse.Namespace, cfg: Config) -> int:
    """Live workers per source, what each holds, and dead workers' requests re-queued."""
    from redis.exceptions import RedisError
    from scrapy_redis.connection import get_redis

    from crawler.frontier.status import as_json, inspect_source
    from crawler.report import print_workers  # heavy: rich

    if not cfg.crawl.redis_url:
        raise UsageError(f"{args.config_path}: crawl.redis_url: not set, so there are no shared workers")
    try:
        server = get_redis(url=cfg.crawl.redis_url)
        rows = [inspect_source(server, cfg.crawl.redis_prefix, s.name, reap=not args.no_reap)
                for s in cfg.sources]
    except RedisError as exc:
        print(f"defnews: crawl.redis_url {cfg.crawl.redis_url}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(as_json(rows))
    else:
        print_workers(rows, sys.stdout)
    return EXIT_OK


def cmd_import_opml(args: argparse.Namespace, cfg: Config) -> int:
    """Add an OPML file's new feeds to config.yaml (see crawler/opml.py for why it writes
    the file); nothing is written when any outline is invalid (exit 2)."""
    path = Path(args.import_opml)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        plan = plan_import(parse_opml(data, str(path)), cfg, str(path))
    except OpmlError as exc:
        raise UsageError(f"--import-opml: {exc}") from None
    if not args.quiet:
        for line in plan.skipped:
            print(f"skipped {line}", file=sys.stderr)
    if not plan.added:
        if not args.quiet:
            print(f"{path}: no new feeds; {args.config_path} unchanged", file=sys.stderr)
        return EXIT_OK
    config_path = Path(args.config_path)
    try:
        write_sources(config_path, plan.added, str(path))
    except (OSError, OpmlError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"defnews: {config_path}: not written ({reason}); add these under `sources:`:",
              file=sys.stderr)
        sys.stdout.write(sources_yaml(plan.added, str(path)))
        return EXIT_FAILED
    if not args.quiet:
        for src in plan.added:
            print(f"added source {src.entry['name']}: {src.entry['feeds'][0]}")
        print(f"{len(plan.added)} sources added to {config_path} (defaults apply: schedule, "
              "timezone UTC, relevance_filter false; edit them there)", file=sys.stderr)
    return EXIT_OK


def cmd_extract(args: argparse.Namespace, cfg: Config | None) -> int:
    from crawler.text.extract import CleaningTrace, explain_cleaning, extract_page  # heavy: trafilatura
    from crawler.text.relevance import explain

    target = args.target
    lexicon = cfg.relevance_lexicon() if cfg is not None else None
    rules = SourceRules(lexicon=lexicon)
    if args.source:
        if cfg is None:
            raise UsageError("--source needs a config file (--config)")
        try:
            rules = cfg.source(args.source).rules(lexicon=lexicon)
        except KeyError as exc:
            raise UsageError(f"--source: {exc.args[0]}") from None
    if target.startswith(("http://", "https://")) and not Path(target).exists():
        body, encoding, url = _fetch_one(target, cfg)
    else:
        path = Path(target)
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"{target}: cannot read: {exc.strerror}") from None
        if path.suffix == ".gz" or body[:2] == b"\x1f\x8b":
            import gzip

            body = gzip.decompress(body)
        encoding = None
        url = args.url or path.resolve().as_uri()
    trace: list[CleaningTrace] = []
    record = extract_page(Page(rules.name, url, url, body, encoding, datetime.now(timezone.utc)), rules, trace)
    explained = explain_cleaning(trace[-1]) if getattr(args, "explain", False) and trace else []
    if record is None:
        if explained:
            print("\n".join(explained), file=sys.stderr)
        print(f"{target}: no article text found", file=sys.stderr)
        return EXIT_FAILED
    # The same vocabulary (config's relevance_terms) and threshold as a crawl of --source.
    threshold = rules.relevance_threshold
    why = explain(record.title, record.text, rules.lexicon)
    rel, relevant = why.score, why.score >= threshold
    if args.json:
        obj = {"id": None, "source": record.source, "url": record.url, "title": record.title,
               "published_at": iso(record.published_at), "author": record.author,
               "language": record.language, "text": record.text, "duplicate_of": None,
               "fetched_at": iso(record.fetched_at), "relevance": rel, "relevant": relevant,
               "date_source": record.date_source}
        if explained:
            obj["explain_cleaning"] = explained
        if args.explain:
            obj["relevance_terms"] = [vars(h) for h in why.hits]
        print(json.dumps(obj, ensure_ascii=False, indent=2))
    else:
        print(f"url:          {record.url}\ntitle:        {record.title}\n"
              f"published_at: {record.published_at.isoformat() if record.published_at else ''} ({record.date_source})\n"
              f"author:       {record.author}\nlanguage:     {record.language}\n"
              f"relevance:    {rel:.3f} ({'relevant' if relevant else 'not relevant'} at threshold {threshold:g})"
              f"\n\n{record.text}")
        if explained:
            print("\n" + "\n".join(explained))
        if args.explain:
            print(_relevance_section(why, threshold))
    return EXIT_OK


def _relevance_section(why: Any, threshold: float) -> str:  # `why`: a relevance Explanation
    """The relevance part of ``extract --explain``: its own titled section, apart from the
    cleaning trace, listing every term found, its weight and what it counted for."""
    from crawler.text.relevance import format_explanation

    return "\n== relevance: the terms that counted ==\n" + format_explanation(why, threshold)


def _fetch_one(url: str, cfg: Config | None) -> tuple[bytes, str | None, str]:
    """Fetch a single URL through Scrapy (the project's only HTTP client)."""
    from crawler.runner import fetch_one  # heavy: Scrapy

    try:
        return fetch_one(url, cfg)
    except RuntimeError as exc:
        print(f"{url}: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_FAILED) from None


def cmd_feed(args: argparse.Namespace, cfg: Config) -> int:
    from crawler.report import write_feed  # heavy: feedgen, rich

    if args.limit <= 0:
        raise UsageError("--limit: must be a positive number")
    engine, factory = open_db(cfg.database)
    try:
        stories = newest_originals(factory, args.source, args.limit)
        out = _open_out(args.out)
        try:
            n = write_feed(stories, out, sources=args.source)
        finally:
            if out is not sys.stdout:
                out.close()
    finally:
        engine.dispose()
    if not args.quiet and args.out != "-":
        print(f"wrote {n} entries to {args.out}", file=sys.stderr)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, cfg: Config) -> int:
    """Serve the reader until SIGINT/SIGTERM (uvicorn finishes the requests in flight)."""
    from crawler.web.app import create_app  # heavy: Starlette, Jinja2, uvicorn
    from crawler.web.serve import serve
    from storage.reader import open_reader

    if not 0 < args.port < 65536:
        raise UsageError(f"--port: not a port number: {args.port}")
    if args.root_path and (not args.root_path.startswith("/") or args.root_path.endswith("/")):
        raise UsageError(f"--root-path: starts with / and does not end with one: {args.root_path!r}")
    engine, factory = open_reader(cfg.database)
    try:
        if not args.quiet:
            print(f"defnews: reading {engine.url.render_as_string(hide_password=True)} on "
                  f"http://{args.host}:{args.port}{args.root_path}/ (Ctrl-C stops)", file=sys.stderr)
        if not serve(create_app(factory, cfg), host=args.host, port=args.port,
                     root_path=args.root_path, quiet=args.quiet):
            print(f"defnews: cannot listen on {args.host}:{args.port}", file=sys.stderr)
            return EXIT_FAILED
    finally:
        engine.dispose()
    return EXIT_OK


def cmd_schedule(args: argparse.Namespace, cfg: Config) -> int:
    from scheduler import run_scheduler  # heavy: APScheduler

    return run_scheduler(cfg, config_path=args.config_path, db_override=args.db,
                         quiet=args.quiet, verbose=args.verbose)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    log_level = _setup_logging(args)
    args.config_path = str(resolve_config_path(args.config))
    try:
        if args.command == "extract" and not args.source:
            try:
                cfg: Config | None = load_config(args.config, args.db)
            except ConfigError:
                cfg = None
            return cmd_extract(args, cfg)
        cfg = load_config(args.config, args.db)
        if args.command == "crawl":
            return cmd_crawl(args, cfg, log_level)
        if args.command == "export":
            return cmd_export(args, cfg)
        if args.command == "sources":
            return cmd_sources(args, cfg)
        if args.command == "workers":
            return cmd_workers(args, cfg)
        if args.command == "extract":
            return cmd_extract(args, cfg)
        if args.command == "feed":
            return cmd_feed(args, cfg)
        if args.command == "schedule":
            return cmd_schedule(args, cfg)
        if args.command == "serve":
            return cmd_serve(args, cfg)
    except ConfigError as exc:
        print(f"defnews: invalid config: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        print(f"defnews: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except DatabaseError as exc:
        print(f"defnews: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    parser.error(f"unknown command {args.command}")
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
