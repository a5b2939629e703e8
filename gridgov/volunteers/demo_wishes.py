"""A year of the wish wall on the demo street, booked through gridgov.volunteers.wishes (so one
claimer per wish, every change in the history, the claimer's service and points on confirm):
grid workers post wishes for the special-care residents of their grids (老弱病残孕), a few
residents with logins post their own; volunteers, party members and units claim them; the
wishes end in every state: open, claimed, fulfilled awaiting confirmation, confirmed, cancelled.

The fulfilment photos are one tiny generated JPEG (Pillow), stored like a live upload under the
media directory. No notifications are sent (notify=False): the demo is history."""

import io
from datetime import timedelta

from django.db import transaction

WISHES = [
    ("想要一台收音机", "老人独居，想听戏曲广播"), ("帮忙理个发", "行动不便，出门困难"), ("陪同去医院复查", "子女在外地"),
    ("换一个新的水龙头", "厨房水龙头漏水"), ("想学用智能手机视频通话", "想和外地的孙子视频"),
    ("需要一副老花镜", ""), ("帮忙买一袋米和一桶油", "腿脚不好，搬不动"), ("想要一台电暖器", "冬天屋里冷"),
    ("孩子想要一套课外书", "孕期在家，想给大宝准备"), ("轮椅需要修理", "刹车坏了"), ("想有人陪着聊聊天", "一个人在家闷"),
    ("帮忙打扫一次卫生", "术后恢复期"), ("想要一个助行器", ""), ("窗户漏风需要封条", ""), ("想要一双保暖棉鞋", ""),
    ("帮忙办理老年卡", "不会在手机上操作"), ("需要一个血压计", "高血压要每天量"), ("想要一床厚被子", ""),
]
UNITS = ["安宁街道供电所", "社区卫生服务站", "区税务所第二党支部", "安宁中学", "建设银行安宁支行", "辖区派出所"]
NOTES = ["已送到老人家中，老人很高兴", "已上门完成", "陪同完成，老人表示感谢", "东西已送到，顺便帮忙收拾了屋子"]


def _photo() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (214, 88, 64)).save(buf, "JPEG", quality=70)
    return buf.getvalue()


def build(rng, start, now, progress, *, password_hash: str, email_domain: str) -> dict:
    from django.db.models import Q

    from gridgov.accounts.models import Duty, GridAssignment, Role, User
    from gridgov.registry.models import Organization, Resident

    from . import wishes
    from .models import Wish

    photo = _photo()
    workers = list(GridAssignment.objects.filter(duty=Duty.WORKER, user__role=Role.GRID_WORKER, until__isnull=True)
                   .select_related("user", "node").order_by("node__path", "user_id"))
    claimers = list(User.objects.filter(role__in=[Role.VOLUNTEER, Role.STEWARD], is_active=True).order_by("id"))
    if not workers or not claimers:
        return {"wishes": 0}
    units = list(Organization.objects.filter(kind__in=["unit", "enterprise", "school", "medical"])
                 .order_by("id").values_list("name", flat=True)[:30]) or UNITS
    care = Q()
    for tag in Resident.SPECIAL_CARE:
        care |= Q(tags__contains=[tag]) if _json_contains() else Q(tags__icontains=f'"{tag}"')
    days = max(1, (now - start).days)
    n = 0

    def life(wish, posted_at, who_confirms):
        """Take one wish through its life; the latest stay earlier in it."""
        age = (now - posted_at).days
        roll = rng.random()
        if roll < 0.06:
            wishes.cancel(who_confirms, wish.pk, "家属已解决", now=posted_at + timedelta(days=1), notify=False)
            return
        if age < 4 and roll < 0.6:
            return  # still open on the wall
        claimer = rng.choice(claimers)
        kind = rng.choice([Wish.Claimer.VOLUNTEER, Wish.Claimer.VOLUNTEER, Wish.Claimer.PARTY_MEMBER, Wish.Claimer.UNIT])
        at = posted_at + timedelta(hours=rng.randint(2, 72))
        if at >= now:
            return
        wishes.claim(claimer, wish.pk, kind, rng.choice(units) if kind == Wish.Claimer.UNIT else "", now=at,
                     notify=False)
        if age < 10 and roll < 0.75:
            return  # claimed, being fulfilled
        at += timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 8))
        if at >= now:
            return
        wishes.fulfil(claimer, wish.pk, photo, rng.choice(NOTES), now=at, notify=False)
        if age < 16 and roll < 0.9:
            return  # fulfilled, awaiting confirmation
        at += timedelta(days=rng.randint(0, 3), hours=rng.randint(1, 12))
        if at >= now:
            return
        wishes.confirm(who_confirms, wish.pk, now=at, notify=False)

    with transaction.atomic():
        for ga in workers:
            residents = list(Resident.objects.filter(care, grid__path__startswith=ga.node.path, ended_on__isnull=True)
                             .order_by("id")[:200])
            if not residents:
                continue
            for _k in range(rng.randint(1, 3)):
                r = rng.choice(residents)
                title, desc = rng.choice(WISHES)
                # a quarter in the last three weeks: the wall has open, claimed and unconfirmed wishes
                back = rng.randrange(21) if rng.random() < 0.25 else rng.randrange(days)
                posted_at = now - timedelta(days=back, hours=rng.randint(1, 10))
                posted_at = min(posted_at, now - timedelta(hours=1))
                wish = wishes.post_for(ga.user, r.pk, title, desc, now=posted_at)
                n += 1
                life(wish, posted_at, ga.user)
        # a few residents with logins post their own (at the grid of their registry house)
        for u in User.objects.filter(role=Role.RESIDENT, username__startswith="resident").order_by("id")[:5]:
            r = Resident.objects.filter(name=u.display_name, house__isnull=False).select_related("house__address").first()
            if r is None or r.house.address.lon is None:
                continue
            title, desc = rng.choice(WISHES)
            posted_at = now - timedelta(days=rng.randint(1, 60))
            wish = wishes.post_own(u, title, desc, lon=r.house.address.lon, lat=r.house.address.lat, now=posted_at)
            n += 1
            life(wish, posted_at, u)
    if progress:
        progress(f"wishes: {n} wishes")
    return {"wishes": n, "wishes_confirmed": Wish.objects.filter(state=Wish.State.CONFIRMED).count()}


def _json_contains() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"
