"""Helpers of the scores' tests: households, property cases and 12345 tickets of a side's
compound (cases and tickets are rows the other apps' intake writes: made with the ORM here)."""

from datetime import datetime
from itertools import count

from django.utils import timezone

from gridgov.registry import services as reg

TZ = timezone.get_current_timezone()
_seq = count(1)


def at(*args):
    return timezone.make_aware(datetime(*args), TZ)


def houses(w, side="c1", n=25, use="residential"):
    compound = w[f"compound_{side}"]
    building = compound.buildings.get()
    for _ in range(n):
        i = next(_seq)
        a = reg.create_address(code=f"T{side}{i:05d}", level="house", community=compound.community, compound=compound,
                               building=building, unit="1", room=str(100 + i), text=f"{compound.name}1号楼{100 + i}",
                               grid=building.grid)
        reg.create_house(address=a, building=building, use=use, grid=building.grid)


def property_item():
    from gridgov.cases.models import Item, Scenario
    from gridgov.cases.routing import PROPERTY

    item = Item.objects.filter(department=PROPERTY, active=True).first()
    if item is None:
        sc, _ = Scenario.objects.get_or_create(code="T-WY", defaults={"name": "物业测试"})
        item = Item.objects.create(scenario=sc, code="T-WY-1", name="物业服务", department=PROPERTY)
    return item


def case(w, side="c1", *, created_at, channel="resident", resolved_at=None, rating=None, rated_at=None):
    from gridgov.cases.models import Case, Rating

    c = Case.objects.create(channel=channel, text="楼道灯坏了物业不修", item=property_item(), compound=w[f"compound_{side}"],
                            grid=w["street"][side], grid_path=w["street"][side].path, created_at=created_at,
                            updated_at=created_at, resolved_at=resolved_at,
                            state="resolved" if resolved_at else "dispatched")
    if rating:
        Rating.objects.create(case=c, user=w[f"worker_{side}"], round=0, score=rating, at=rated_at or created_at)
    return c


def ticket(w, side="c1", *, received_at, address=None, category="物业管理", solved=False, satisfaction="", valid=True,
           **extra):
    from gridgov.hotline.models import Ticket

    i = next(_seq)
    return Ticket.objects.create(
        ticket_id=f"T{i:08d}", received_at=received_at,
        month=timezone.localtime(received_at).strftime("%Y-%m"), content="物业不作为", category_l1="城乡建设",
        category_l2=category, address_text=address if address is not None else f"{w[f'compound_{side}'].name}2号楼",
        community=w["street"][side], valid=valid, solved=solved, satisfaction=satisfaction, **extra)
