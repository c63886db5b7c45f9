"""Users see and steer the filter: `relevance_terms` and `relevance_threshold` in config.yaml,
`defnews extract --json` (`relevant`) and `--explain` (the terms that counted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.config import ConfigError, load_config
from tests.conftest import run_defnews

# A story whose only military word is a user's own term: rejected by the shipped
# vocabulary, kept once the user adds the term.
PAGE = """<html lang="ar"><head><meta charset="utf-8"><title>وصول منظومة كاراكال إلى الوحدات</title></head>
<body><article><h1>وصول منظومة كاراكال إلى الوحدات</h1>
<p>وصلت منظومة كاراكال الجديدة إلى الوحدات المنتشرة في الشمال بعد أشهر من الانتظار، وقال مسؤولون إن تشغيلها يبدأ الشهر المقبل.</p>
<p>وتتميز كاراكال بمدى أطول من سابقتها وبقدرة على العمل في الطقس السيئ، بحسب الشركة المصنعة التي لم تكشف قيمة العقد.</p>
</article></body></html>"""


def _config(tmp_path: Path, terms: str | None = None, threshold: float | None = None) -> Path:
    lines = [f"database: sqlite:///{tmp_path / 'd.db'}"]
    if terms is not None:
        (tmp_path / "my_terms.yaml").write_text(terms, encoding="utf-8")
        lines.append("relevance_terms: my_terms.yaml")  # relative to the config file
    lines += ["sources:", "  - name: general", "    url: https://general.example/", "    relevance_filter: true"]
    if threshold is not None:
        lines.append(f"    relevance_threshold: {threshold}")
    cfg = tmp_path / "config.yaml"
    cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return cfg


def test_user_terms_are_loaded_relative_to_the_config(tmp_path):
    cfg = load_config(_config(tmp_path, "anchors:\n  كاراكال: 3\n  الوحدات: 2\n"))
    assert cfg.relevance_lexicon() is not None
    assert load_config(_config(tmp_path)).relevance_lexicon() is None  # shipped vocabulary only
    assert cfg.sources[0].threshold == 0.5


@pytest.mark.parametrize("terms, message", [
    ("anchors:\n  كاراكال: lots\n", "relevance_terms: "),
    ("anchors: [كاراكال]\n", "anchors: expected a mapping"),
    ("senses:\n  حرب الأسعار: 3\n", "a sense's weight must be between -10 and 0"),
    ("anchors:\n  - : :\n", "relevance_terms: "),
])
def test_bad_user_terms_name_the_key(tmp_path, terms, message):
    with pytest.raises(ConfigError) as e:
        load_config(_config(tmp_path, terms))
    assert "config.yaml: relevance_terms: " in str(e.value) and message in str(e.value)


def test_missing_terms_file_names_the_key(tmp_path):
    p = tmp_path / "config.yaml"
    p.write_text("relevance_terms: nowhere.yaml\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"config.yaml: relevance_terms: cannot read .*nowhere.yaml"):
        load_config(p)


def test_threshold_is_validated_per_source(tmp_path):
    with pytest.raises(ConfigError, match=r"sources\[0\]\.relevance_threshold: "):
        load_config(_config(tmp_path, threshold=1.5))
    assert load_config(_config(tmp_path, threshold=0.3)).sources[0].threshold == 0.3


def test_extract_reports_relevant_and_explains(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(PAGE, encoding="utf-8")
    cfg = _config(tmp_path)
    r = run_defnews("--config", str(cfg), "extract", str(page), "--json", "--source", "general")
    assert r.returncode == 0, r.stderr
    obj = json.loads(r.stdout)
    assert obj["relevant"] is False and obj["relevance"] < 0.5
    assert list(obj).index("relevant") == list(obj).index("relevance") + 1

    cfg = _config(tmp_path, "anchors:\n  كاراكال: 3\n  الوحدات: 2\n")
    r = run_defnews("--config", str(cfg), "extract", str(page), "--source", "general", "--explain")
    assert r.returncode == 0, r.stderr
    section = r.stdout.split("== relevance: the terms that counted ==", 1)[1]
    assert "كاراكال" in section and "anchors, body" in section and "kept" in section

    # the source's own threshold decides `relevant`
    cfg = _config(tmp_path, "anchors:\n  كاراكال: 3\n  الوحدات: 2\n", threshold=0.99)
    r = run_defnews("--config", str(cfg), "extract", str(page), "--json", "--source", "general", "--explain")
    obj = json.loads(r.stdout)
    assert obj["relevant"] is False and 0.5 < obj["relevance"] < 0.99
    assert any(t["term"] == "كاراكال" and t["counted"] for t in obj["relevance_terms"])
