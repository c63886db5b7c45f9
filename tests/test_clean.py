"""crawler/text/clean.py: one case per rule, each failing without its rule; the story stays whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.text.clean import clean_text, fix_stray_dots

TITLE = "روسيا قد تنظم مناورة بحرية مشتركة مع كوريا الشمالية والصين"
SITE = "الموقع العربي للدفاع والتسليح"
P1 = "ذكرت وكالة يونهاب أن وزير الدفاع الروسي ذكر أن هناك مناقشات مستمرة حول إجراء مناورات عسكرية مشتركة."
P2 = "وذكر شويغو أن روسيا تشارك بنشاط في مناقشات حول التدريبات العسكرية مع العديد من الدول."
SUB = "العلاقات بين روسيا وكوريا الشمالية"
SEED = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "000_ce5c5541532dfdf8.txt"


def clean(*lines: str, **kw) -> list[str]:
    kw.setdefault("title", TITLE)
    kw.setdefault("site_name", SITE)
    return clean_text("\n".join(lines), **kw).split("\n\n")


def test_story_paragraphs_and_subheadings_kept():
    assert clean(P1, SUB, P2) == [P1, SUB, P2]


@pytest.mark.parametrize("repeat", [
    TITLE,
    "روسيا قد تنظم مناورة بحرية مشتركة مع كوريا الشمالية و الصين.",  # spacing, final dot
    "روسيا قد تُنظّم مناورة بحريّة مشتركة مع كوريا الشمالية والصين",  # diacritics
    f"{TITLE} {TITLE}",  # caption + alt glued together
    f"{TITLE} - {SITE}",
])
def test_headline_repeats_removed(repeat):
    assert clean(repeat, P1, repeat, P2) == [P1, P2]


def test_line_that_only_shares_words_with_headline_kept():
    line = "روسيا والصين تبحثان التعاون البحري في بحر اليابان خلال العام المقبل"
    assert clean(P1, line) == [P1, line]


@pytest.mark.parametrize("line", [
    "شارك: فيسبوك تويتر واتساب",
    "شارك الخبر",
    "فيسبوك تويتر واتساب تلغرام",
    "تابعونا على فيسبوك وتويتر",
    f"{SITE} | Facebook",
    "Share this article on Facebook Twitter WhatsApp",
    "تابعوا آخر الأخبار العسكرية عبر قناتنا على تلغرام",
    "طباعة الخبر | أرسل لصديق",
    "حمل تطبيق الموقع الرسمي لتصلك الأخبار العاجلة",
])
def test_share_and_follow_lines_removed(line):
    assert clean(P1, line, P2) == [P1, P2]


def test_paragraph_mentioning_social_networks_kept():
    para = ("وقالت شركة ميتا إن حسابات على فيسبوك وإنستغرام مرتبطة بالجيش نشرت معلومات مضللة "
            "عن العمليات العسكرية خلال الأشهر الماضية قبل أن تحذفها.")
    assert clean(P1, para) == [P1, para]


@pytest.mark.parametrize("line", [
    "اقرأ أيضا: الجيش المصري يتسلم فرقاطة جديدة",
    "اقرأ أيضًا:",
    "إقرأ أيضاً: تركيا تختبر مسيرة جديدة",
    "مواضيع ذات صلة",
    "المزيد",
    "قد يهمك: الجيش يتسلم دبابات",
    "Read more: Army receives new tanks",
])
def test_read_also_lines_removed(line):
    assert clean(P1, line, P2) == [P1, P2]


def test_subheading_after_read_also_heading_kept():
    # the links of the box are removed on the tree; in text the next line may be story
    assert clean(P1, "اقرأ أيضًا:", SUB, P2) == [P1, SUB, P2]


@pytest.mark.parametrize("line", [
    SITE,
    f"جميع الحقوق محفوظة © 2023 {SITE}",
    "© 2024 Defense News. All rights reserved.",
])
def test_site_name_and_copyright_removed(line):
    assert clean(P1, line, P2) == [P1, P2]


@pytest.mark.parametrize("line", [
    "يستخدم هذا الموقع ملفات تعريف الارتباط (الكوكيز) لتحسين تجربتك.",
    "We use cookies to improve your experience. By continuing you accept our policy.",
    "اشترك في النشرة البريدية لتصلك أهم الأخبار",
    "Sign up for our newsletter",
    "اشترك في النشرة الإخبارية اليومية",
    "إضافة تعليق جديد",
    "الآراء الواردة أدناه لا تعبر عن رأي الموقع بل تعكس وجهات نظر أصحابها فقط.",
])
def test_cookie_newsletter_and_comment_notices_removed(line):
    assert clean(P1, line, P2) == [P1, P2]


@pytest.mark.parametrize("line", ["إعلان", "اعلان", "- إعلان -", "Advertisement", "ADVERTISEMENT",
                                  "المحتوى برعاية"])
def test_ad_labels_removed(line):
    assert clean(P1, line, P2) == [P1, P2]


def test_word_advertisement_inside_a_sentence_kept():
    para = "وجاء إعلان وزارة الدفاع بعد ساعات من انتهاء المناورات البحرية المشتركة في المنطقة."
    assert clean(para) == [para]


@pytest.mark.parametrize("line", [
    "بواسطة هيئة التحرير",
    "بقلم: أحمد علي",
    "المحرر: سامي بن عمر",
    "الثلاثاء، 5 أيلول 2023 - 10:30 ص",
    "نشر في: 5 سبتمبر 2023",
    "الوسوم: تسليح، دفاع جوي",
])
def test_byline_dateline_and_tags_removed(line):
    assert clean(line, P1, P2) == [P1, P2]


@pytest.mark.parametrize("line", [
    "كتب الرئيس رسالة إلى نظيره",        # "wrote", not a byline
    "تحرير الموصل من قبضة التنظيم",      # "liberation", not "edited by"
    "اشترك في المناورات عشرون بلدا",      # "took part in", not "subscribe to"
    "شارك فيها الجيش والبحرية",          # "took part", not "share"
    "المزيد من القوات ستنتشر في المنطقة",   # a sentence, not the "المزيد" heading
    "قررت المنصة تقييد نشر التعليقات على الأخبار العسكرية",  # a story about comments
    "وقالت الوزارة إنها تتحمل مسؤولية تطبيق الاتفاق",   # "تطبيق" is also "enforcement"
    "نشر الجيش 5000 جندي في 5 سبتمبر 2023",            # "نشر" is also "deployed"
    "وقال المذيع في النشرة الإخبارية إن القوات تقدمت",    # a TV news bulletin
])
def test_short_story_lines_that_look_like_furniture_kept(line):
    assert clean(P1, line, P2) == [P1, line, P2]


@pytest.mark.parametrize("line", [
    "المقال السابق: الجيش يتسلم دبابات جديدة",
    "الخبر التالي",
    "Next article: Army receives new tanks",
    "عدد القراءات: 842",
    "1,523 مشاهدة",
])
def test_previous_next_links_and_counters_removed(line):
    assert clean(P1, line, P2) == [P1, P2]


def test_subheading_holding_a_date_kept():
    sub = "هجوم 7 أكتوبر 2023 وتداعياته"
    assert clean(P1, sub, P2) == [P1, sub, P2]


def test_stray_dot_between_arabic_words_removed():
    assert fix_stray_dots("مناقشات مستمرة . حول إجراء") == "مناقشات مستمرة حول إجراء"
    assert fix_stray_dots("الوطنية، . علم أن") == "الوطنية، علم أن"
    assert clean("هناك مناقشات مستمرة . حول إجراء مناورات") == ["هناك مناقشات مستمرة حول إجراء مناورات"]


def test_real_full_stops_and_latin_dots_kept():
    s = "مفاوضات الأسلحة. بين روسيا وكوريا"  # no space before the dot: the site's own text
    assert fix_stray_dots(s) == s
    assert fix_stray_dots("version 2 . 0 of the system") == "version 2 . 0 of the system"


def test_source_patterns_apply():
    line = "المصدر: وكالات - خاص بالموقع"
    assert clean(P1, line, P2) == [P1, line, P2]
    assert clean(P1, line, P2, patterns=[r"^المصدر: وكالات"]) == [P1, P2]


def test_learned_lines_removed_by_normalised_key():
    promo = "نتمنى لكم قراءة ممتعة ومفيدة مع فريق التحرير"
    assert clean(P1, promo, P2) == [P1, promo, P2]
    assert clean(P1, "نتمنّى لكم قراءة ممتعة ومفيدة مع فريق التحرير", P2, learned={promo}) == [P1, P2]


def test_same_paragraph_twice_in_a_row_kept_once():
    assert clean(P1, P1, P2) == [P1, P2]


def test_english_article_untouched():
    text = ("The Army said on Tuesday it would buy 120 new tanks.\n"
            "Officials said the deal was worth $2 billion. Follow the money, critics said.\n"
            "The tanks will be delivered in 2026 . Training starts next year.")
    assert clean_text(text, title="Army to buy tanks", site_name="Defense News") == text.replace("\n", "\n\n")


def test_seed_article_cleans_to_its_story():
    if not SEED.exists():
        pytest.skip(f"{SEED} is not here")
    raw = SEED.read_text(encoding="utf-8")
    lines = raw.split("\n")
    title = lines[0].strip()
    out = clean_text(raw, title=title, site_name=SITE).split("\n\n")
    assert title not in out
    assert not any("Facebook" in x for x in out)
    assert not any(" . " in x for x in out)
    assert "العلاقات بين روسيا وكوريا الشمالية" in out and "زيارة ومباحثات بشأن السلاح" in out
    story = [x.strip() for x in lines[1:] if x.strip() and x.strip() != title and "Facebook" not in x]
    assert out == [x.replace(" . ", " ").replace("، . ", "، ") for x in story]


# Tree-level cleaning before trafilatura (crawler/text/extract.py): where links and captions are
# still visible.
from crawler.text.extract import choose_title, drop_related_boxes, parse_tree, prepare_tree, strip_site_name  # noqa: E402


def _text(tree) -> str:
    return " ".join(tree.text_content().split())


def test_captions_removed_from_tree():
    tree = parse_tree(f"<html><body><figure><img src='a.jpg'><figcaption>{TITLE}</figcaption></figure>"
                      f"<p>{P1}</p><div class='wp-caption-text'>صورة أرشيفية</div></body></html>")
    out = _text(prepare_tree(tree))
    assert TITLE not in out and "صورة أرشيفية" not in out and P1 in out
    assert TITLE in _text(tree)  # the original tree is not modified


def test_related_box_removed_but_subheading_after_it_kept():
    tree = parse_tree(f"<html><body><p>{P1}</p><h3>اقرأ أيضًا:</h3><ul><li><a href='/1'>الجيش يتسلم دبابات</a></li>"
                      f"<li><a href='/2'>صفقة مقاتلات جديدة</a></li></ul><h2>{SUB}</h2><p>{P2}</p>"
                      "<div class='related'><p>مواضيع ذات صلة</p><a href='/3'>مناورات بحرية في الخليج</a></div>"
                      "</body></html>")
    drop_related_boxes(tree)
    out = _text(tree)
    assert "الجيش يتسلم دبابات" not in out and "مناورات بحرية في الخليج" not in out
    assert SUB in out and P1 in out and P2 in out


def test_layout_tables_become_blocks_data_tables_stay():
    tree = parse_tree(f"<html><body><table><tr><td><table><tr><td>شعار</td></tr></table></td>"
                      f"<td><p>{P1}</p><p>{P2}</p></td></tr></table>"
                      "<table><tr><th>الطراز</th><th>العدد</th></tr><tr><td>إف-16</td><td>24</td></tr></table>"
                      "</body></html>")
    prepared = prepare_tree(tree)
    assert prepared.xpath("//table[.//p]") == []  # the layout table is gone
    assert len(prepared.xpath("//table[.//th]")) == 1  # the data table stays
    assert prepared.xpath("//p")[0].getparent().tag == "div"


@pytest.mark.parametrize("title, site, expected", [
    (f"{TITLE} - {SITE}", SITE, TITLE),
    (f"{TITLE} | {SITE}", SITE, TITLE),
    (f"{SITE} - {TITLE}", SITE, TITLE),
    ("روسيا - أوكرانيا: مفاوضات جديدة", SITE, "روسيا - أوكرانيا: مفاوضات جديدة"),  # a dash of the headline
])
def test_site_name_stripped_from_title(title, site, expected):
    assert strip_site_name(title, site) == expected


def test_title_from_title_tag_when_site_unknown():
    tree = parse_tree(f"<html><head><title>شبكة الأخبار - {TITLE}</title></head><body><p>{P1}</p></body></html>")
    assert choose_title(tree, "", "شبكة الأخبار", "") == TITLE


def test_subheadings_dropped_by_trafilatura_restored():
    from crawler.text.extract import restore_subheadings

    tree = parse_tree(f"<html><body><div class='news-body'><p>{P1}</p><h4>{SUB}</h4><p>{P2}</p></div>"
                      "<h3>الأكثر قراءة</h3><ul><li>خبر</li></ul></body></html>")
    assert restore_subheadings(tree, f"{P1}\n{P2}") == f"{P1}\n{SUB}\n{P2}"
    assert restore_subheadings(tree, P1) == P1  # only between two kept paragraphs


def test_english_story_lines_with_furniture_words_kept():
    lines = ["Thousands of recruits sign up for the reserve every year, officials said.",
             "Print editions of the newspaper carried the story on Monday."]
    assert clean(*lines, title="Army recruits", site_name="Defense News") == lines


def test_read_also_first_word_filter_changes_no_verdict():
    """is_read_also skips its regex for a line whose first word no alternative starts
    with: the verdict must be what the regex alone gives, on story lines and on every
    read-also form (punctuated, with diacritics, with hamza, quoted, with a colon)."""
    import re
    from pathlib import Path

    from crawler.text.arabic import normalize
    from crawler.text.clean import _READ_ALSO, _READ_ALSO_EN, _READ_ALSO_HEADINGS, is_read_also

    def unfiltered(raw: str) -> bool:
        return (bool(_READ_ALSO.match(normalize(raw, keep_punct=True))) or normalize(raw) in _READ_ALSO_HEADINGS
                or bool(_READ_ALSO_EN.match(raw.strip())))

    lines = ["اقرأ أيضاً: الجيش يتسلم دبابات", "إقرأ ايضا", "«اقرأ أيضا»", "- اقرأ أيضا:", "شاهد كذلك",
             "مواضيع ذات صلة", "أخبار ذات صلة:", "قد يهمك", "قد يهمك:", "قد يعجبك أيضاً", "اخترنا لك",
             "ننصحك بقراءة:", "المزيد", "الأكثر قراءة", "Read more: tanks", "See also:", "RELATED:", "ſee also:",
             "قد يهمك هذا الخبر", "اقرا", "طالعوا المزيد من التفاصيل", "انظر أيضا الجدول"]
    pages = Path(__file__).parent / "fixtures" / "quality" / "pages"
    for page in sorted(pages.glob("*.html"))[:20]:
        lines += [x for x in re.sub(r"<[^>]+>", "\n", page.read_text(encoding="utf-8", errors="replace")).splitlines()
                  if x.strip()]
    hits = 0
    for raw in lines:
        assert is_read_also(normalize(raw), raw) == unfiltered(raw), raw
        hits += unfiltered(raw)
    assert hits >= 15
