"""crawler/text/relevance.py: defense stories pass, sport and cinema with military words do not."""

from __future__ import annotations

import pytest

from crawler.text.relevance import THRESHOLD, is_relevant, score

DEFENSE = [
    ("المغرب يقتني راجمات صواريخ هيمارس الأمريكية",
     "وافقت وزارة الخارجية الأمريكية على صفقة محتملة لبيع المغرب منظومات راجمات صواريخ وذخائرها، "
     "وذكرت وكالة التعاون الأمني الدفاعي أن الصفقة ستعزز قدرة القوات المسلحة الملكية."),
    ("البحرية المصرية تتسلم فرقاطة جديدة",
     "تسلمت القوات البحرية المصرية فرقاطة متعددة المهام مزودة بمنظومات دفاع جوي وصواريخ مضادة للسفن."),
    ("غارات جوية تستهدف مواقع في ريف دمشق",
     "استهدفت غارات جوية مواقع عسكرية، وقالت وزارة الدفاع إن وسائط الدفاع الجوي تصدت للصواريخ."),
    # clitics and spelling variants: وبالدبابات، للجيش، الصواريخ with diacritics
    ("وصول دفعة جديدة", "وصلت دفعة جديدة من الدّبابات والمدرعات للجيش، إلى جانب الصَّواريخ المضادة للدروع."),
]
NOT_DEFENSE = [
    # "الجيش الملكي" is the Rabat football club
    ("الجيش الملكي يفوز على الوداد في ديربي مثير",
     "حقق فريق الجيش الملكي فوزا ثمينا على الوداد في مباراة الدوري، وسجل المهاجم هدفين في الشوط الثاني "
     "أمام جماهير غفيرة في الملعب، ليقترب الفريق العسكري من صدارة البطولة."),
    ("فيلم حربي يتصدر شباك التذاكر",
     "يتصدر فيلم الحرب الجديد شباك التذاكر، ويروي قصة جنود في معركة ضارية، من بطولة النجم الشهير "
     "وإخراج المخرج المعروف، وقد عرض في مهرجان السينما."),
    ("ارتفاع أسعار النفط", "ارتفعت أسعار النفط اليوم في الأسواق العالمية بسبب مخاوف من نقص الإمدادات."),
    ("دفاع المنتخب يتألق", "تألق خط دفاع المنتخب في المباراة وصد هجوم الخصم، وقال المدرب إن اللاعبين قدموا أداء رائعا."),
]


@pytest.mark.parametrize("title, text", DEFENSE)
def test_defense_stories_relevant(title, text):
    assert is_relevant(title, text), score(title, text)


@pytest.mark.parametrize("title, text", NOT_DEFENSE)
def test_sport_film_and_economy_not_relevant(title, text):
    assert not is_relevant(title, text), score(title, text)


def test_negative_cues_matter():
    # the football story without its sport words reads as military news
    assert is_relevant("الجيش الملكي يعزز قدراته", "تسلم الجيش الملكي دبابات ومدرعات وصواريخ جديدة.")


def test_title_weighs_more_than_body():
    body = "قال المسؤول إن الاجتماع تناول ملفات عدة بينها التعاون الاقتصادي والتجاري والصواريخ."
    assert score("صفقة صواريخ ودبابات جديدة", body) > score("اجتماع لبحث التعاون", body)


def test_one_passing_mention_in_a_long_story_is_not_enough():
    long_body = " ".join(["تحدث الوزير عن الاقتصاد والاستثمار والسياحة والتعليم والصحة."] * 60) + " والجيش."
    assert not is_relevant("الوزير يعرض خطة الحكومة", long_body)


def test_score_range():
    assert score("", "") == 0.0
    s = score(*DEFENSE[0])
    assert THRESHOLD < s < 1.0
