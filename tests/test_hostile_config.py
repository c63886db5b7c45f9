"""Hostile or broken config files are refused with exit 2 and the key named.

Defences: yaml.safe_load (no object construction; aliases are references, so a
billion-laughs file stays small) and the pydantic models of crawler/config.py, which check
every field's type, regex, cron line and URL scheme before anything runs.
"""

from __future__ import annotations

import pytest

from crawler.cli import main

BOMB = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 10)).replace(
    "l1: &l1 [*l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0]", 'l1: &l1 ["lol", "lol", "lol", "lol", "lol"]')

GOOD = "  - name: a\n    url: http://127.0.0.1:9/\n"


@pytest.mark.parametrize("body,key", [
    (BOMB + "sources:\n" + GOOD + "    boilerplate: *l9\n", "sources[0].boilerplate[0]"),
    (BOMB + "sources:\n" + GOOD, "l9: unknown key"),
    ("sources:\n" + GOOD + "    article_pattern: '(unclosed'\n", "sources[0].article_pattern: bad regex"),
    ("sources:\n" + GOOD + "    schedule: '61 * * * *'\n", "sources[0].schedule: bad cron line"),
    ("sources:\n  - name: a\n    url: file:///etc/passwd\n", "sources[0].url: not an http(s) URL"),
    ("sources:\n" + GOOD + "    feeds: [file:///etc/passwd]\n", "sources[0].feeds: not an http(s) URL: 'file:///etc/passwd'"),
    ("sources: [\n", "not valid YAML"),
    ("!!python/object/apply:os.system ['echo pwned']\n", "not valid YAML"),
])
def test_bad_configs_exit_2_naming_the_key(tmp_path, capsys, body, key):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(body, encoding="utf-8")
    assert main(["--config", str(cfg), "sources"]) == 2
    err = capsys.readouterr().err
    assert key in err, err[-1500:]
    assert "pwned" not in capsys.readouterr().out
