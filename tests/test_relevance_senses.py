"""crawler/text/relevance.py: word senses, counting once, support, and the vocabulary file."""

from __future__ import annotations

import pytest

from crawler.text.relevance import (THRESHOLD, build_lexicon, check_terms, explain, format_explanation,
                                    is_relevant, score, shipped_terms)

BODY = ("قالت مصادر إن الاجتماع تناول ملفات التعاون والتجارة والاستثمار والتعليم، وإن الطرفين اتفقا "
        "على مواصلة المشاورات الشهر المقبل في العاصمة.")


def _terms(ex, section=None):
    return [(h.term, h.where, h.count) for h in ex.hits if section is None or h.section == section]


def test_a_term_counts_once_whatever_its_clitics():
    # The old lexicon matched "الدفاع" as both "الدفاع" and "دفاع" (0.181 against 0.095).
    one = explain("", "الدفاع " + BODY)
    assert len(one.hits) == 1 and one.hits[0].count == 1
    assert score("", "الدفاع " + BODY) == score("", "دفاع " + BODY) == score("", "وللدفاع " + BODY)
    # Variants of one term are one entry: "الجنود" and "جنود" are mentions of one term.
    ex = explain("", "وصل الجنود. ثم عاد جنود آخرون. " + BODY)
    assert [h.count for h in ex.hits if h.section == "anchors"] == [2]


def test_the_longest_expression_takes_its_words():
    ex = explain("", "أعلنت وزارة الدفاع أن الدفاع الجوي اعترض صاروخا. " + BODY)
    sections = {h.term: h.section for h in ex.hits}
    assert "وزارة الدفاع" in sections and "الدفاع الجوي" in sections
    assert not any(h.term in ("الدفاع", "دفاع") for h in ex.hits), "no word is counted twice"


@pytest.mark.parametrize("title, text", [
    ("الدفاع المدني يخمد حريقا", "تمكنت فرق الدفاع المدني من إخماد حريق في مستودع، وقال الدفاع المدني إن التحقيق جار."),
    ("هيئة الدفاع تطلب التأجيل", "طلبت هيئة الدفاع عن المتهم تأجيل الجلسة، وقالت المحكمة إنها ستنظر في الطلب."),
    ("حرب الأسعار تشتعل", "تشتعل حرب الأسعار بين شركات الاتصالات بعد طرح باقات جديدة بأسعار منخفضة."),
    ("الجيش الأبيض في المواجهة", "يواصل الجيش الأبيض من الأطباء والممرضين العمل في خط الدفاع الأول ضد الوباء."),
    ("رادارات جديدة على الطرق", "بدأت إدارة المرور تشغيل رادارات السرعة لرصد المخالفات على الطرق السريعة."),
    ("طائرات مسيرة في الحقول", "يستخدم المزارعون طائرات مسيرة زراعية لرش المبيدات على المحاصيل."),
    ("إطلاق صاروخ يحمل أقمارا صناعية", "أطلقت وكالة الفضاء صاروخا يحمل أقمارا صناعية للاتصالات إلى المدار."),
])
def test_senses_that_are_not_defense(title, text):
    assert not is_relevant(title, text), format_explanation(explain(title, text))


def test_ambiguous_words_need_a_military_anchor():
    text = "أطلقت الشركة صاروخا جديدا وأعلنت هجوما على الأسواق في حرب مفتوحة. " + BODY
    ex = explain("", text)
    assert not ex.supported and ex.score == 0.0
    assert all(not h.counted for h in ex.hits if h.section == "ambiguous")
    with_anchor = explain("", text + " وقال الجيش إن المدفعية شاركت.")
    assert with_anchor.supported and any(h.counted for h in with_anchor.hits if h.section == "ambiguous")


def test_one_headline_word_does_not_carry_a_story():
    for title in ("حرب", "دبابات", "هجوم صاروخي على الأسعار"):
        assert score(title, BODY) < THRESHOLD, title


def test_defense_news_with_support_is_kept():
    assert is_relevant("الجيش يتسلم دبابات جديدة",
                       "تسلم الجيش دفعة من الدبابات والمدرعات، وقال رئيس الأركان إن القوات المسلحة ستنفذ مناورات.")


def test_already_normalised_input_gives_the_same_score():
    from crawler.text.arabic import normalize

    title, text = "الدّفاعُ الجوي يعترض صواريخ", "أعلنت وزارة الدفاع أن منظومات الدفاع الجوي اعترضت صاروخين باليستيين."
    assert score(title, text) == score(normalize(title), normalize(text), normalized=True)


# -- the vocabulary file --------------------------------------------------------------------

def test_the_shipped_vocabulary_is_valid():
    data = shipped_terms()
    assert check_terms(data) == []
    assert {"anchors", "ambiguous", "senses", "context"} <= set(data)


def test_user_terms_add_replace_and_remove():
    base = build_lexicon(shipped_terms())
    text = "وصلت منظومة كاراكال الجديدة إلى الوحدات. " + BODY
    assert score("", text, base) == 0.0
    added = build_lexicon(shipped_terms(), {"anchors": {"كاراكال": 3, "الوحدات العسكرية|الوحدات": 2}})
    assert score("", text, added) > 0
    # weight null removes a shipped term; a sense can be switched off the same way
    removed = build_lexicon(shipped_terms(), {"anchors": {"الجيش|جيش|الجيوش": None}})
    assert score("", "قال الجيش. " + BODY, removed) == 0.0 < score("", "قال الجيش. " + BODY, base)


@pytest.mark.parametrize("data, key", [
    ({"weapons": {"دبابة": 3}}, "weapons: unknown section"),
    ({"anchors": {"دبابة": "heavy"}}, "anchors.دبابة: weight must be a number"),
    ({"anchors": {"دبابة": 30}}, "anchors.دبابة: weight must be between 0 and 10"),
    ({"senses": {"الدفاع المدني": 2}}, "senses.الدفاع المدني: a sense's weight must be between -10 and 0"),
    ({"context": {"sport": ["مباراة"]}}, "context.sport: expected a mapping"),
    ({"anchors": {"...": 2}}, "anchors....: a term must be words"),
    (["دبابة"], "(top level): expected a mapping"),
])
def test_bad_vocabulary_names_the_key(data, key):
    errors = check_terms(data)
    assert any(e.startswith(key) for e in errors), errors
    with pytest.raises(ValueError):
        build_lexicon(data)
