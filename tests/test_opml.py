"""OPML both ways: `defnews sources --opml` and `defnews sources --import-opml FILE`."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

import crawler.opml as opml
from crawler import defaults
from crawler.cli import main
from crawler.config import load_config, parse_config
from crawler.opml import OpmlError, parse_opml, plan_import, sources_opml
from tests.conftest import ROOT

CONFIG = """\
# my sources: keep this comment
database: sqlite:///data/x.db   # the db
crawl:
  obey_robots: true
  redis_url: null

sources:
  # -- defense sites -----------
  - name: defense-arab           # the seed's site
    url: https://www.defense-arab.com/
    feeds:
      - https://www.defense-arab.com/feed/
    boilerplate: ['^الموقع\\s*\\|']
  - name: sitemap-only
    url: https://sm.example/
    sitemaps: [https://sm.example/sitemap.xml]
"""

OPML = """\
<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>from another reader</title></head><body>
  <outline text="Defense">
    <outline type="rss" text="الموقع العربي" xmlUrl="https://www.defense-arab.com/feed/" htmlUrl="https://www.defense-arab.com/"/>
    <outline type="rss" text="Breaking Defense" xmlUrl="https://breakingdefense.com/feed/" htmlUrl="https://breakingdefense.com/"/>
  </outline>
  <outline type="rss" text="الجزيرة" xmlUrl="https://www.aljazeera.net/rss?a=1&amp;b=2,3"/>
  <outline type="rss" text="الجزيرة رياضة" xmlurl="https://www.aljazeera.net/sport/rss/?outputType=xml"/>
  <outline type="rss" text="again" xmlUrl="https://breakingdefense.com/feed/"/>
</body></opml>
"""


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    return p


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# -- export ---------------------------------------------------------------------------------

def test_opml_export_has_one_outline_per_feed():
    cfg = parse_config(yaml.safe_load(CONFIG) | {"sources": yaml.safe_load(CONFIG)["sources"] + [
        {"name": "two-feeds", "url": "https://t.example/", "feeds": ["https://t.example/a.xml?x=1&y=2",
                                                                     "https://t.example/b.xml"]}]})
    text = sources_opml(cfg.sources)
    root = ET.fromstring(text.encode())
    assert root.tag == "opml" and root.get("version") == "2.0"
    outlines = root.findall("./body/outline")
    assert [(o.get("text"), o.get("xmlUrl"), o.get("htmlUrl"), o.get("type")) for o in outlines] == [
        ("defense-arab", "https://www.defense-arab.com/feed/", "https://www.defense-arab.com/", "rss"),
        ("two-feeds", "https://t.example/a.xml?x=1&y=2", "https://t.example/", "rss"),
        ("two-feeds", "https://t.example/b.xml", "https://t.example/", "rss"),
    ]  # the sitemap-only source has no feed to subscribe to
    assert sources_opml(cfg.sources) == text  # pure: same sources, same bytes


def test_cli_opml_of_the_shipped_config_reimports_as_nothing_new(tmp_path, capsys):
    code, out, _ = _run(capsys, "--config", str(ROOT / "config.yaml"), "sources", "--opml")
    assert code == 0
    cfg = load_config(ROOT / "config.yaml")
    feeds = parse_opml(out.encode(), "out.opml")
    assert [f.xml_url for f in feeds] == [u for s in cfg.sources for u in s.feeds]
    assert ET.fromstring(out.encode()).find("./head/dateCreated") is not None
    plan = plan_import(feeds, cfg, "out.opml")
    assert plan.added == [] and len(plan.skipped) == len(feeds)


# -- import ---------------------------------------------------------------------------------

def test_import_adds_new_feeds_and_keeps_the_config_as_written(tmp_path, capsys):
    cfg_path = _write(tmp_path, "config.yaml", CONFIG)
    src = _write(tmp_path, "subs.opml", OPML)
    code, out, err = _run(capsys, "--config", str(cfg_path), "sources", "--import-opml", str(src))
    assert code == 0, err
    new_text = cfg_path.read_text(encoding="utf-8")
    # Everything that was there is still there, byte for byte, comments included.
    assert new_text.startswith(CONFIG), new_text
    cfg = load_config(cfg_path)
    added = {s.name: (s.url, s.feeds) for s in cfg.sources[2:]}
    assert added == {
        "breakingdefense": ("https://breakingdefense.com/", ["https://breakingdefense.com/feed/"]),
        "aljazeera": ("https://www.aljazeera.net/", ["https://www.aljazeera.net/rss?a=1&b=2,3"]),
        "aljazeera-2": ("https://www.aljazeera.net/", ["https://www.aljazeera.net/sport/rss/?outputType=xml"]),
    }
    assert "already configured as source 'defense-arab'" in err
    assert "outline 4 ('again')" in err and "already configured as source 'breakingdefense'" in err
    assert "added source breakingdefense" in out
    # The same file again: nothing new, not a byte changed.
    code, _, err = _run(capsys, "--config", str(cfg_path), "sources", "--import-opml", str(src))
    assert code == 0 and cfg_path.read_text(encoding="utf-8") == new_text
    assert "no new feeds" in err


def test_import_names_are_valid_unique_and_from_the_host_or_title():
    cfg = parse_config({"sources": [{"name": "aljazeera", "url": "https://www.aljazeera.net/"}]})
    feeds = [opml.OpmlFeed("outline 1", "Al Jazeera Sport!", "https://sport.aljazeera.net/rss", ""),
             opml.OpmlFeed("outline 2", "رياضة", "https://www.aljazeera.net/rss2", ""),
             opml.OpmlFeed("outline 3", "", "http://127.0.0.1:8000/feed.xml", ""),
             opml.OpmlFeed("outline 4", "x" * 200, "https://m.bbc.co.uk/arabic/rss.xml", "")]
    names = [n.entry["name"] for n in plan_import(feeds, cfg, "f.opml").added]
    assert names == ["aljazeera-al-jazeera-sport", "aljazeera-2", "127-0-0-1", "bbc"]


@pytest.mark.parametrize("body,expected", [
    (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
     b'<opml version="2.0"><body><outline text="&lol2;" xmlUrl="https://a.example/f"/></body></opml>',
     "refused"),
    (b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
     b'<opml version="2.0"><body><outline text="&e;" xmlUrl="https://a.example/f"/></body></opml>',
     "refused"),
    (b'<opml version="2.0"><body><outline xmlUrl="https://a.example/f"></body>', "not well-formed XML"),
    (b'<html><body><a href="https://a.example/f">x</a></body></html>', "not OPML"),
    (b'<opml version="2.0"><head/></opml>', "no <body>"),
    (b'<opml><body>' + b'<outline>' * 100 + b'</outline>' * 100 + b'</body></opml>', "nested deeper"),
    (b'<opml version="2.0"><body><outline text="ok" xmlUrl="https://ok.example/f"/>'
     b'<outline text="evil" xmlUrl="javascript:alert(1)"/></body></opml>', "outline 2 ('evil'): xmlUrl"),
    (b'<opml version="2.0"><body><outline text="ok" xmlUrl="https://ok.example/f"/>'
     b'<outline text="h" xmlUrl="https://h.example/f" htmlUrl="file:///etc/passwd"/></body></opml>',
     "outline 2 ('h'): htmlUrl"),
])
def test_hostile_or_malformed_opml_exits_2_and_writes_nothing(tmp_path, capsys, body, expected):
    cfg_path = _write(tmp_path, "config.yaml", CONFIG)
    src = _write(tmp_path, "bad.opml", body)
    code, out, err = _run(capsys, "--config", str(cfg_path), "sources", "--import-opml", str(src))
    assert code == 2
    assert f"{src}: " in err and expected in err, err
    assert cfg_path.read_text(encoding="utf-8") == CONFIG  # all or nothing: ok.example not added
    assert "/etc/passwd" not in out and "root:" not in err


def test_oversized_opml_is_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(defaults, "OPML_MAX_BYTES", 100)
    with pytest.raises(OpmlError, match="larger than 100 bytes"):
        parse_opml(OPML.encode(), "big.opml")


def test_a_title_cannot_inject_yaml(tmp_path, capsys):
    """Titles land in a YAML comment: a newline in one must not start a new key."""
    cfg_path = _write(tmp_path, "config.yaml", CONFIG)
    src = _write(tmp_path, "inj.opml", '<opml version="2.0"><body><outline '
                 'title="x&#10;database: sqlite:///evil.db&#13;&#10;# " '
                 'xmlUrl="https://i.example/f?x=[1]&amp;y=#z"/></body></opml>')
    code, _, err = _run(capsys, "--config", str(cfg_path), "sources", "--import-opml", str(src))
    assert code == 0, err
    cfg = load_config(cfg_path)
    assert cfg.database == "sqlite:///data/x.db"
    assert cfg.sources[-1].feeds == ["https://i.example/f?x=[1]&y=#z"]


def test_an_edit_that_would_not_read_back_is_never_written(tmp_path, capsys, monkeypatch):
    """The read-back check: with URLs written unquoted into a flow list (what ruamel does
    by default), `/?` reads differently to PyYAML; it is refused and printed instead."""
    monkeypatch.setattr(opml, "_scalar", lambda url: url)
    cfg_path = _write(tmp_path, "config.yaml", CONFIG)
    src = _write(tmp_path, "subs.opml", OPML)
    code, out, err = _run(capsys, "--config", str(cfg_path), "sources", "--import-opml", str(src))
    assert code == 1 and "not written" in err
    assert cfg_path.read_text(encoding="utf-8") == CONFIG
    assert "name: breakingdefense" in out  # printed for the user to paste


def test_unwritable_config_prints_the_sources_to_paste(tmp_path, capsys, monkeypatch):
    def refuse(*_a, **_k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(opml.os, "replace", refuse)
    cfg_path = _write(tmp_path, "config.yaml", CONFIG)
    src = _write(tmp_path, "subs.opml", OPML)
    code, out, err = _run(capsys, "--config", str(cfg_path), "sources", "--import-opml", str(src))
    assert code == 1 and "Permission denied" in err
    assert cfg_path.read_text(encoding="utf-8") == CONFIG
    pasted = yaml.safe_load(out)
    assert [s["name"] for s in pasted] == ["breakingdefense", "aljazeera", "aljazeera-2"]
    assert not list(tmp_path.glob(".config.yaml.*"))  # no temporary file left behind


def test_the_shipped_config_keeps_every_line(tmp_path, capsys):
    """The real config.yaml (comments, flow lists, quoted regexes, null): only additions."""
    original = (ROOT / "config.yaml").read_text(encoding="utf-8")
    cfg_path = _write(tmp_path, "config.yaml", original)
    src = _write(tmp_path, "subs.opml", OPML)
    code, _, err = _run(capsys, "--config", str(cfg_path), "sources", "--import-opml", str(src))
    assert code == 0, err
    new_text = cfg_path.read_text(encoding="utf-8")
    assert new_text.startswith(original.rstrip("\n")), new_text
    assert len(load_config(cfg_path).sources) == len(load_config(ROOT / "config.yaml").sources) + 3
