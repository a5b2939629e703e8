"""Validators for the fields offices type into spreadsheets."""

import re
from datetime import date

_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")
PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


def id_check_char(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS))
    return _ID_CHECK[total % 11]


def id_number_error(value: str) -> str | None:
    """Why an 18-character resident ID number (GB 11643-1999) is invalid, or None."""
    v = (value or "").strip().upper()
    if not _ID_RE.match(v):
        return "身份证号应为18位：17位数字加1位数字或X"
    try:
        born = date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return "身份证号中的出生日期无效"
    if born.year < 1880 or born > date.today():
        return "身份证号中的出生日期无效"
    if id_check_char(v[:17]) != v[17]:
        return "身份证号校验位错误 (GB 11643)"
    return None


#: the first two digits of a resident ID number: province-level region codes (GB/T 2260)
PROVINCE_CODES = frozenset({11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
                            50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82})


def looks_like_id_number(value: str) -> bool:
    """Whether a run of digits found in free text is probably someone's ID number: 18 characters
    with a province code and a valid birth date (a wrong check character is a typo, still
    personal), or an old 15-digit number (GB 11643-1989: region, YYMMDD, sequence) with a
    province code and a birth date in 1910–1999. Grid codes (18 digits: year 00xx; 15 digits
    of a street numbered below 100: year 190x) and case numbers (they start with 20) do not."""
    v = (value or "").strip().upper()
    if len(v) == 18 and _ID_RE.match(v):
        birth = v[6:14]
    elif len(v) == 15 and v.isdigit():
        birth = "19" + v[6:12]
        if int(v[6:8]) < 10:
            return False
    else:
        return False
    if int(v[:2]) not in PROVINCE_CODES:
        return False
    try:
        born = date(int(birth[:4]), int(birth[4:6]), int(birth[6:8]))
    except ValueError:
        return False
    return 1880 <= born.year and born <= date.today()


def id_birth_date(value: str) -> date:
    v = value.strip()
    return date(int(v[6:10]), int(v[10:12]), int(v[12:14]))


def id_gender(value: str) -> str:
    """'M' or 'F' from the 17th character."""
    return "M" if int(value.strip()[16]) % 2 == 1 else "F"


def phone_error(value: str) -> str | None:
    v = (value or "").strip().replace(" ", "")
    if not PHONE_RE.match(v):
        return "电话号码格式错误：应为11位手机号或带区号的固定电话"
    return None
