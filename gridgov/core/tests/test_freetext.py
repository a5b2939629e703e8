"""The one masking function for free text (gridgov.core.freetext)."""

from gridgov.core import crypto
from gridgov.core.freetext import mask_personal, original, protect
from gridgov.core.validators import id_check_char, looks_like_id_number

ID = "11010619850312001" + id_check_char("11010619850312001")


def test_id_and_mobile_numbers_are_masked_in_any_text():
    assert mask_personal(f"身份证{ID}，电话13912345678。") == "身份证110***********" + ID[-4:] + "，电话139****5678。"
    assert mask_personal("老证110106850312123号") == "老证110********2123号"  # 15-digit (GB 11643-1989)
    assert mask_personal("打 138 0013 8000 或 +86 137-0000-1111") == "打 138****8000 或 +86 137****1111"
    assert mask_personal(ID[:-1] + "7") != ID[:-1] + "7"  # a mistyped check character is still someone's number
    assert mask_personal(mask_personal(f"{ID} 13912345678")) == mask_personal(f"{ID} 13912345678")  # idempotent


def test_codes_and_numbers_that_are_not_personal_stay():
    for text in ("网格110106001001001与微网格110106001001001001", "诉求20250930000001", "账号6222021234567890123",
                 "订单12345678901234567890", "座机010-63801234", "12012345678", "100000000000000"):
        assert mask_personal(text) == text, text
    assert not looks_like_id_number("110106001001001")


def test_protect_keeps_the_original_encrypted_only_when_it_masked_something():
    masked, token = protect(f"我的手机13912345678")
    assert masked == "我的手机139****5678" and crypto.decrypt(token) == "我的手机13912345678"
    assert original(masked, token) == "我的手机13912345678"
    assert protect("路灯坏了") == ("路灯坏了", "")
    assert original("路灯坏了", "") == "路灯坏了"
