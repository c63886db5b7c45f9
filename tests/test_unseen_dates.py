"""Dates on the unseen templates (issue 11): the contract's day-only rule, weekday + month-name
dates in every month system, with or without commas, Arabic-Indic digits, inside table cells
and <font>, and the date next to the headline preferred to the other dates of the page."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from lxml import html as lxml_html

from crawler.text.dates import parse_machine_date, resolve_date

UTC = timezone.utc
FETCHED = datetime(2024, 2, 1, 12, 0, tzinfo=UTC)
TITLE = "العراق يتسلم دفعة جديدة من دبابات تي-90 الروسية"
INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
MONTHS = {  # November in each system
    "egypt-gulf": "نوفمبر", "levant": "تشرين الثاني", "morocco": "نونبر", "levant-short": "تشرين 2",
}


def table_page(dateline: str, *, top: str = "الخميس 1 فبراير 2024", side: str = "") -> str:
    """An old table layout: today's date in the top bar, the headline in <font>, the
    dateline in the next cell, a sidebar of other stories with their own dates."""
    return f"""<html><head><meta charset="utf-8"><title>شبكة الرافدين :: {TITLE}</title></head><body>
<table><tr><td><font size="1">{top}</font></td><td><a href="/">الرئيسية</a> | <a href="/a">الأرشيف</a></td></tr></table>
<table><tr><td width="170"><table><tr><td><a href="#">خبر آخر عن صفقة أسلحة</a> {side}</td></tr></table></td>
<td><table><tr><td><font size="4"><b>{TITLE}</b></font></td></tr>
<tr><td><font size="1" color="#808080">{dateline}</font></td></tr>
<tr><td><font face="Simplified Arabic">تسلمت وزارة الدفاع العراقية دفعة جديدة من دبابات تي-90 الروسية ضمن عقد وقع قبل سنوات لتحديث سلاح المدرعات في الجيش العراقي وجرى نقلها إلى معسكر التاجي.</font></td></tr>
</table></td></tr></table></body></html>"""


def resolve(page: str, tz: str = "Asia/Baghdad"):
    tree = lxml_html.document_fromstring(page)
    return resolve_date(tree, "", feed_date=None, tz=tz, fetched_at=FETCHED, title=TITLE)


@pytest.mark.parametrize("system", sorted(MONTHS))
@pytest.mark.parametrize("shape", [
    "{wd} {d} {m} {y}", "{wd}، {d} {m} {y}", "{wd}, {d} {m}, {y}", "{wd} {d} {m}، {y}", "{wd}، {m} {d}، {y}",
    "تاريخ النشر: {wd} {d} {m} {y}", "{wd} {d:02d} {m} {y}",
])
@pytest.mark.parametrize("indic", [False, True])
def test_weekday_month_name_dates_in_table_cells(system, shape, indic):
    printed = shape.format(wd="الأحد", d=5, m=MONTHS[system], y=2023)
    if indic:
        printed = printed.translate(INDIC)
    # a day alone keeps its calendar day at 00:00 UTC, in a source three hours east of UTC
    assert resolve(table_page(printed)) == (datetime(2023, 11, 5, tzinfo=UTC), "text")


@pytest.mark.parametrize("dateline", [
    "كتب: حيدر عبد الأمير الساعدي | الأحد 5 نوفمبر 2023 | المشاهدات: 532",   # byline | date | counter
    "نشر بتاريخ 2023/11/05 - المشاهدات: 1203 - بقلم حيدر الساعدي",
    "تاريخ النشر: الأحد ٥ تشرين الثاني ٢٠٢٣ | عدد القراءات: ٥٣٢",
])
def test_dateline_with_byline_and_counter(dateline):
    assert resolve(table_page(dateline)) == (datetime(2023, 11, 5, tzinfo=UTC), "text")


def test_time_of_day_read_in_the_sources_zone():
    page = table_page("الأحد 5 نوفمبر 2023 - 00:40")
    assert resolve(page) == (datetime(2023, 11, 4, 21, 40, tzinfo=UTC), "text")  # 00:40 in Baghdad


def test_the_date_next_to_the_headline_wins():
    """Today's date in the top bar and a sidebar date stand before the headline."""
    page = table_page("السبت 4 تشرين الثاني 2023", top="الخميس 1 شباط 2024", side="الجمعة 3 نوفمبر 2023")
    assert resolve(page) == (datetime(2023, 11, 4, tzinfo=UTC), "text")


@pytest.mark.parametrize("value,tz,expected", [
    ("2023-11-05", "Asia/Riyadh", datetime(2023, 11, 5, tzinfo=UTC)),        # JSON-LD day: 00:00 UTC
    ("2023-11-05", "America/New_York", datetime(2023, 11, 5, tzinfo=UTC)),   # west of UTC too
    ("2023-11-05T00:30:00", "Asia/Riyadh", datetime(2023, 11, 4, 21, 30, tzinfo=UTC)),  # a time: local
    ("2023-11-05T00:30:00+03:00", "UTC", datetime(2023, 11, 4, 21, 30, tzinfo=UTC)),
    ("الأحد 5 نوفمبر 2023", "Asia/Riyadh", datetime(2023, 11, 5, tzinfo=UTC)),
])
def test_machine_dates_follow_the_contract(value, tz, expected):
    assert parse_machine_date(value, tz) == expected


def test_json_ld_day_only():
    page = f"""<html><head><script type="application/ld+json">{{"@type": "NewsArticle", "headline": "{TITLE}",
    "datePublished": "2023-11-12"}}</script></head><body><h1>{TITLE}</h1></body></html>"""
    assert resolve(page, "Asia/Riyadh") == (datetime(2023, 11, 12, tzinfo=UTC), "meta")
