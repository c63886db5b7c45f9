"""The issue-11 cleaning rules, each on the furniture it removes and on the story text it
must keep (a rule is judged by shape and place, never by one site's strings)."""

from __future__ import annotations

import pytest
from lxml import html as lxml_html

from crawler.text.clean import clean_text, is_credit, is_latin_furniture, is_meta_composite, judge_lines
from crawler.text.extract import is_layout_table, recover_story_blocks, restore_subheadings
from crawler.text.learned import candidate_lines, line_key

P1 = "تسلمت وزارة الدفاع العراقية دفعة جديدة من دبابات تي-90 الروسية، ضمن عقد وقع قبل سنوات لتحديث سلاح المدرعات."
P2 = "وقالت الوزارة في بيان إن الدبابات وصلت إلى ميناء أم قصر وجرى نقلها إلى معسكر التاجي شمالي بغداد."
P3 = "وكانت وكالة رويترز قد نقلت في وقت سابق عن مسؤول عسكري عراقي أن تسليم الدفعات تأخر بسبب العقوبات."


def clean(*lines: str, **kw) -> list[str]:
    return clean_text("\n".join(lines), **kw).split("\n\n")


# ------------------------------------------------------------------ metadata lines
@pytest.mark.parametrize("line", [
    "كتب: حيدر الساعدي | الأحد 5 نوفمبر 2023 | المشاهدات: 532",
    "الأحد 5 نوفمبر 2023 | المشاهدات: 1,203",
    "نشر بتاريخ 2023/11/05 - المشاهدات: 1203 - بقلم هشام الإدريسي",
    "تاريخ النشر: الأحد ٥ تشرين الثاني ٢٠٢٣ | عدد القراءات: ٥٣٢",
    "الثلاثاء، ٠٧ نوفمبر ٢٠٢٣ ٠٩:١٥ م المشاهدات: ١٬٢١١",
    "قراءة 532 مرات",
    "- 460 قراءة",
    "حيدر الساعدي · 5 نوفمبر، 2023 · دقيقة واحدة",
    "أمن | 5 نوفمبر 2023 | 3 تعليقات",
])
def test_metadata_lines_go_whatever_their_numbers(line):
    assert clean(line, P1, P2) == [P1, P2]


@pytest.mark.parametrize("line", [
    P3,
    "هجوم 7 أكتوبر",                                # a sub-heading holding a date
    "المصدر: وكالات - خاص بالموقع",                 # needs the source's own pattern
    "| 1 | Kyle Busch | 5040 | 5 | 1 | 17 | 27 |",    # a table row of figures
    "| 1 | الفرقة المدرعة التاسعة | 40 دبابة | 2023 |",
    "ارتفع عدد القتلى إلى 532 | وفق آخر حصيلة رسمية صدرت الأحد 5 نوفمبر 2023 عن وزارة الصحة",
    "ردود فعل دولية",
])
def test_story_lines_with_dates_and_numbers_are_kept(line):
    assert clean(P1, line, P2) == [P1, line, P2]


def test_meta_composite_needs_a_strong_segment():
    assert not is_meta_composite("أخبار | تقارير | مقالات")  # a menu is not metadata (other rules)
    assert is_meta_composite("أخبار | 5 نوفمبر 2023")


# ------------------------------------------------------------------ credits
@pytest.mark.parametrize("line", [
    "(أ ف ب)", "(و.م.ع)", "(واس)", "(رويترز)", "صورة أرشيفية (أ ف ب)", "صورة أرشيفية - رويترز", "الصورة: رويترز",
    "تصوير: أرشيف الموقع", "صورة: أرشيف", "صورة من الأرشيف", "المصدر: كونا", "Photo: AFP", "الصور: رويترز",
])
def test_credits_and_archive_notes_go(line):
    assert is_credit(line)
    assert clean(P1, line, P2) == [P1, line][:1] + [P2]


@pytest.mark.parametrize("line", [
    "القاهرة (أ ف ب) - أعلنت الهيئة العربية للتصنيع في مصر بدء الإنتاج المحلي لمدفع الهاوتزر ذاتي الحركة.",
    "صور الأقمار الصناعية تكشف حجم الدمار في المنطقة الحدودية بعد أسابيع من القصف المتواصل على القرى.",
    "إدانات عربية",
    "الصور تكشف حجم الدمار",  # a sub-heading: plural "pictures" without a colon
])
def test_story_lines_naming_agencies_or_photos_are_kept(line):
    assert not is_credit(line)
    assert clean(P1, line, P2) == [P1, line, P2]


# ------------------------------------------------------------------ Latin-script furniture
@pytest.mark.parametrize("line", [
    "Accueil | Politique | Économie | Sport | Contact",
    "Qui sommes-nous | Nous contacter | Mentions légales | Publicité",
    "© 1997-2024 maroc-today.ma. All rights reserved.",
    "About us", "Getty Images", "Powered by Blogger. Theme images by Michael Elkan.",
    "Newer Post Older Post Home",
])
def test_latin_navigation_and_copyright_go_on_an_arabic_page(line):
    assert clean(P1, line, P2, P3) == [P1, P2, P3]


def test_latin_text_is_kept_when_it_is_story_or_the_page_is_latin():
    quote = ("The Royal Moroccan Air Force will operate the most advanced F-16 configuration in the region, "
             "the company said in its statement on Thursday")
    assert clean(P1, quote, P2) == [P1, quote, P2]  # a long sentence, no menu or copyright mark
    english = ["The army received new tanks on Sunday after a long delay caused by sanctions on the supplier.",
               "About us", "The ministry said the tanks would join the armoured divisions next year."]
    assert not is_latin_furniture("About us", arabic_page=False)
    assert clean(*english) == english  # an English page: the Arabic-page rule does not apply


# ------------------------------------------------------------------ notices
@pytest.mark.parametrize("line", [
    "أضف تعليقاً جديداً", "اكتب تعليقك", "تأكد من إدخال جميع المعلومات المطلوبة، المشار إليها بعلامة النجمة (*).",
])
def test_comment_form_lines_go(line):
    assert clean(P1, line, P2) == [P1, P2]


# ------------------------------------------------------------------ learned lines by shape
def test_learned_lines_match_by_shape():
    first = "كتب: حيدر الساعدي | الأحد 5 نوفمبر 2023 | المشاهدات: 532"
    later = "كتب: حيدر الساعدي | الثلاثاء ٧ تشرين الثاني ٢٠٢٣ | المشاهدات: ١٢٠٣"
    assert line_key(first) == line_key(later)
    assert line_key("الخبر رقم 3 عن الصفقة") != line_key("الخبر رقم 4 عن الصفقة")  # no date, no counter
    assert len(candidate_lines("\n".join([first, later]))) == 1  # one line of the story's shape
    # the learned line removes the next story's variant (here the rules would keep it)
    promo = "تابعوا تغطيتنا الخاصة يوميا منذ 5 نوفمبر 2023 حتى نهاية الحرب"
    variant = "تابعوا تغطيتنا الخاصة يوميا منذ 9 ديسمبر 2023 حتى نهاية الحرب"
    assert clean(P1, variant, P2) == [P1, variant, P2]
    assert clean(P1, variant, P2, learned={promo}) == [P1, P2]


# ------------------------------------------------------------------ explain
def test_judge_lines_names_the_rule():
    verdicts = judge_lines("\n".join(["(أ ف ب)", P1, "About us", "المشاهدات: 532"]))
    assert [v.rule for v in verdicts] == ["credit", "", "latin-furniture", "meta-line"]


# ------------------------------------------------------------------ tree rules
def _tree(body: str):
    return lxml_html.document_fromstring(f"<html><body>{body}</body></html>")


def test_layout_tables_by_shape():
    def table(rows: str) -> object:
        return _tree(f"<table>{rows}</table>").find(".//table")

    assert is_layout_table(table("<tr><td>الخميس 1 فبراير 2024</td><td>الرئيسية | الأرشيف</td></tr>"))  # a bar
    assert is_layout_table(table("<tr><td>العنوان</td></tr><tr><td>التاريخ</td></tr>"))  # a column of blocks
    assert is_layout_table(table(f"<tr><td><font>{P1}<br><br>{P2}<br><br>{P3}<br><br>{P1}</font></td><td>x</td></tr>"
                                 "<tr><td>a</td><td>b</td></tr>"))  # prose split by <br>
    assert not is_layout_table(table("<tr><td>“A pull quote of one sentence.”</td></tr>"))
    assert not is_layout_table(table("<tr><th>النوع</th><th>العدد</th></tr><tr><td>دبابات</td><td>40</td></tr>"))


def test_story_before_an_ad_break_is_recovered():
    tree = _tree(f"""<h1>عنوان</h1><div class="article"><div class="lead-block"><p>{P1}</p><p>{P2}</p></div>
    <div class="ad-break"><span>- إعلان -</span></div><div class="rest-block"><p>{P3}</p></div></div>""")
    text, recovered = recover_story_blocks(tree, P3)
    assert text.split("\n") == [P1, P2, P3] and recovered == [P1, P2]


def test_cms_intro_is_put_first():
    tree = _tree(f"""<div class="itemBody"><div class="itemIntroText"><p>{P1}</p></div>
    <div class="itemFullText"><p>{P2}</p><p>{P3}</p></div></div>""")
    assert recover_story_blocks(tree, f"{P2}\n{P3}")[0].split("\n") == [P1, P2, P3]  # missing
    assert recover_story_blocks(tree, f"{P2}\n{P3}\n{P1}")[0].split("\n") == [P1, P2, P3]  # appended at the end


def test_a_standfirst_above_the_story_is_not_recovered():
    """A summary block beside the body, with no ad break between: not the story (Zyte pages)."""
    tree = _tree(f"""<div class="article"><div class="article__summary"><p>{P1}</p></div>
    <div class="article__text"><p>{P2}</p><p>{P3}</p></div></div>""")
    assert recover_story_blocks(tree, f"{P2}\n{P3}") == (f"{P2}\n{P3}", [])


def test_subheading_after_an_ad_break_is_restored():
    tree = _tree(f"""<div class="a"><div class="lead"><p>{P1}</p></div><div class="ad-break">إعلان</div>
    <div class="rest"><h3>ردود فعل دولية</h3><p>{P2}</p></div></div>""")
    assert restore_subheadings(tree, f"{P1}\n{P2}") == f"{P1}\nردود فعل دولية\n{P2}"
    box = _tree(f"""<p>{P1}</p><div class="box"><header><h3>Trending</h3></header></div><p>{P2}</p>""")
    assert restore_subheadings(box, f"{P1}\n{P2}") == f"{P1}\n{P2}"  # a box's heading stays out


# ------------------------------------------------------------------ bylines near the headline
@pytest.mark.parametrize("line,name", [
    ("نشر بتاريخ 2023/11/05 - المشاهدات: 1203 - بقلم هشام الإدريسي", "هشام الإدريسي"),
    ("كتب: حيدر الساعدي | الأحد 5 نوفمبر 2023 | المشاهدات: 532", "حيدر الساعدي"),
    ("كتب محمود فتحي", "محمود فتحي"),
    ("كتب الرئيس رسالة", ""),          # a sentence, not a byline
    ("Posted by", ""),                 # a label with an empty name
])
def test_byline_name(line, name):
    from crawler.text.meta import byline_name

    assert byline_name(line) == name
