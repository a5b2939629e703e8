"""The indicator sets: the default and a copy are built the same way (indicators._build)."""

import pytest

from gridgov.property import indicators
from gridgov.property.models import Indicator

pytestmark = pytest.mark.django_db

FIELDS = ("category__code", "category__name", "category__weight", "category__position", "code", "name", "full_marks",
          "method", "step", "criteria", "evidence", "rectify_days", "position")


def test_a_copy_keeps_every_rule_of_its_source():
    source = indicators.create_default(2030)
    assert source.categories.count() == len(indicators.DEFAULT) == 5
    rows = list(Indicator.objects.filter(category__indicator_set=source).order_by("category__position", "position")
                .values_list(*FIELDS))
    assert len(rows) == 25 and rows[0][:6] == ("A", "内业管理", 15, 0, "A1", "合同与档案管理")
    copy = indicators.copy_set(source, 2031)
    indicators.check_set(copy)
    assert (copy.year, copy.name, copy.frozen_at) == (2031, source.name, None)
    assert list(Indicator.objects.filter(category__indicator_set=copy).order_by("category__position", "position")
                .values_list(*FIELDS)) == rows
