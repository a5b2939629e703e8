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
