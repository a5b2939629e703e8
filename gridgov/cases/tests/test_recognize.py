import pytest

from gridgov.cases.models import Case, Correction, Item
from gridgov.cases.recognize import jaccard, recognize_item


@pytest.mark.parametrize(
    "text,code",
    [
        ("小区门口的路灯坏了，晚上一片漆黑", "PS01"),
        ("路边井盖丢了，很危险", "PS02"),
        ("有人从楼上飞线给电动车充电", "PS03"),
        ("楼道里堆满了杂物，过不去", "WG01"),
        ("闻到很大的煤气味，可能漏气", "EM01"),
        ("下雨后路口积水很深", "EM02"),
        ("早市小贩摆摊占道", "CC02"),
        ("The street lamp outside building 3 is broken", "PS01"),
        ("garbage and trash piled up at the corner", "CC01"),
    ],
)
def test_recognizes_the_item(taxonomy, text, code):
    item, confidence, alternatives = recognize_item(text)
    assert item.code == code
    assert confidence >= 0.45
    assert alternatives[0]["code"] == code and alternatives[0]["matched"]


def test_keywords_of_equal_length_are_matched_in_a_fixed_order(taxonomy):
    """Longest first, then in code-point order: the same in every process (not by string hash)."""
    item, _, alternatives = recognize_item("照明不好，黑灯瞎火，灯杆歪了，路灯")
    assert item.code == "PS01"
    assert alternatives[0]["matched"] == sorted(["照明", "黑灯", "灯杆", "路灯"])


def test_unrelated_text_has_low_confidence(taxonomy):
    item, confidence, _ = recognize_item("请问社区什么时候开会")
    assert confidence < 0.45


def test_staff_corrections_teach_new_words(taxonomy, street):
    text = "六号院自行车棚顶被大风掀翻"
    before, conf_before, _ = recognize_item(text)
    item = Item.objects.get(code="PS05")
    case = Case.objects.create(channel="resident", text=text, created_at="2025-09-01T10:00+08:00", updated_at="2025-09-01T10:00+08:00")
    for _ in range(2):
        Correction.objects.create(case=case, text=text, old_item=before, new_item=item, at="2025-09-01T10:00+08:00")
    after, conf_after, _ = recognize_item("自行车棚顶被风掀翻了")
    assert after == item and conf_after >= 0.45
    assert conf_before < 0.45 or before != item


def test_jaccard():
    assert jaccard("路灯坏了", "路灯坏了") == 1
    assert jaccard("路灯坏了", "井盖丢了") < 0.2
