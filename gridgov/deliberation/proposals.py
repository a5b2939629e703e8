"""居民提、楼长集: residents propose topics (on the phone, or from the QR code posted in their
building, which names the building), support them and comment (moderated as reports are);
stewards (楼门长) enter proposals for neighbours without a phone, merge duplicates, add what
they heard on their rounds and forward their buildings' proposals to the community.

Who may do what (relations checked here; staff rights through the access table's kind
`deliberation`):

* propose: anyone signed in, for their own place: the building of the QR code they scanned,
  else their home in the registry (services.home_of); at most DELIBERATION_MAX_OPEN_PROPOSALS
  of their own topics still being collected (a phase with proposals open);
* enter for someone: a steward for the buildings they serve (channel steward, visit or
  letterbox); staff with deliberation × create on the grid (channel letterbox, visit or staff).
  The topic keeps whose it is (proposer_name / proposer_resident) and who typed it (entered_by);
* support / unsupport: whoever reads the topic (Topic.objects.visible_to), while its phase has
  support open; one support per person (a double tap is no error);
* comment: whoever reads the topic, while its phase has discussion open (only then: supporting
  is the act of the collecting phases, talking it over is the act of the discussion phases). A
  comment with a listed sensitive word (cases.moderation) is held, shown only to its author and
  to moderators (deliberation × moderate on the topic's grid) until released or rejected;
* notes (what a steward heard): a steward of the topic's building or staff in scope
  (deliberation × create or update); read by them and staff with deliberation × list, never by
  residents;
* merge a duplicate: a steward (both topics on buildings they serve, both being collected) or
  staff with deliberation × update on both;
* forward (楼长集 → the community): services.advance by a steward of the building (or staff);
* withdraw: the proposer or whoever entered it, while it is being collected.

Every state change is one transaction, one history row (services.HISTORY_KINDS) and the
notifications of the people who should know, queued on commit."""

from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridgov.accounts import policy
from gridgov.accounts.querysets import within_reach
from gridgov.core import history

from . import conf, services
from .models import Comment, Support, Topic, TopicNote
from .services import Conflict, DeliberationError, Forbidden, NotFound, person_name, signed_in

KIND = services.KIND
TOKEN_SALT = "deliberation.building"
MAX_BODY = 2000
MAX_COMMENT = 1000
MAX_NOTE = 1000
#: text similarity (cosine of hotline.clusters' TF-IDF vectors) above which an open topic is
#: offered as a likely duplicate; titles are short, so lower than the clusters' threshold
DUPLICATE_SIMILARITY = 0.3
#: channels a steward may enter with, and those staff may
STEWARD_CHANNELS = (Topic.Channel.STEWARD, Topic.Channel.VISIT, Topic.Channel.LETTERBOX)
STAFF_CHANNELS = (Topic.Channel.LETTERBOX, Topic.Channel.VISIT, Topic.Channel.STAFF)


# --- building QR codes -----------------------------------------------------------------------


def building_token(building) -> str:
    """The signed token a building's QR code carries (no expiry: the code stays on the wall)."""
    return signing.dumps({"b": building.pk}, salt=TOKEN_SALT, compress=True)


def building_from_token(token: str):
    """The building a QR code names; DeliberationError (bad_token) when the token is forged,
    damaged or names a building that is gone."""
    from gridgov.registry.models import Building

    try:
        data = signing.loads((token or "").strip(), salt=TOKEN_SALT)
        pk = int(data["b"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise DeliberationError(_("二维码无效，请重新扫描楼栋的二维码"), code="bad_token") from None
    building = (Building.objects.filter(pk=pk, ended_on__isnull=True)
                .select_related("compound__community", "compound__grid", "grid").first())
    if building is None:
        raise DeliberationError(_("二维码对应的楼栋已不存在"), code="bad_token")
    return building


def propose_url(request, building) -> str:
    """The absolute address a building's QR code points to."""
    return request.build_absolute_uri(f"/m/deliberation/propose/?b={building_token(building)}")


def qr_svg(url: str) -> str:
    """An inline SVG of a QR code (no CDN, no image file)."""
    import qrcode
    import qrcode.image.svg

    return qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2).to_string(
        encoding="unicode")


def compounds_for_qr(user):
    """The compounds whose buildings' codes `user` may print (deliberation × list in scope)."""
    from gridgov.registry.models import Compound

    qs = Compound.objects.filter(ended_on__isnull=True).select_related("community")
    return within_reach(qs, user, KIND, "list", "community__path", "grid__path").order_by("community__path", "name")


def building_codes(request, compound) -> list[dict]:
    """One QR code per building of `compound` (the user must reach it: compounds_for_qr)."""
    if not compounds_for_qr(request.user).filter(pk=compound.pk).exists():
        raise Forbidden(_("这个小区不在您的管辖范围内"))
    out = []
    for b in compound.buildings.filter(ended_on__isnull=True).order_by("name", "id"):
        url = propose_url(request, b)
        out.append({"building": b, "name": f"{compound.name}{b.name}", "url": url, "svg": qr_svg(url)})
    return out


# --- helpers ---------------------------------------------------------------------------------


def _topic(user, topic, *, for_update=False) -> Topic:
    """The topic (a Topic or an id) if `user` may read it; NotFound otherwise."""
    pk = topic.pk if isinstance(topic, Topic) else topic
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound(_("没有这个议题")) from None
    return services.get_topic(user, pk, for_update=for_update)


def _clean(text, limit, what, code, required=True) -> str:
    text = (text or "").strip()
    if required and not text:
        raise DeliberationError(_("请填写%(what)s"), code=code, what=what)
    if len(text) > limit:
        raise DeliberationError(_("%(what)s最多 %(limit)s 字，收到 %(n)s 字"), code=code, what=what, limit=limit,
                                n=len(text))
    return text


def _clean_topic(title, body):
    from gridgov.cases.moderation import find_words
    from gridgov.core.freetext import mask_personal

    title = _clean(title, 80, _("议题标题"), "title")
    body = _clean(body, MAX_BODY, _("议题内容"), "body", required=False)
    if find_words(title, body):
        raise DeliberationError(_("议题含有不文明或违规用语，请修改后再提交"), code="sensitive")
    return mask_personal(title), mask_personal(body)


def _notify(user, kind, title, body="", topic=None):
    """Queue one notification (delivered after commit), in the source language (Chinese)."""
    if user is None:
        return
    from django.utils import translation

    from gridgov.cases import notify

    with translation.override(None):
        notify.queue(user, kind, str(title), str(body), payload={"topic": topic.pk} if topic else None)


def stewards_of(building_id) -> list:
    """The users who serve `building_id` as its stewards."""
    from gridgov.accounts.models import User
    from gridgov.registry.models import Volunteer

    if not building_id:
        return []
    ids = Volunteer.objects.filter(kind="steward", building_id=building_id, user__isnull=False,
                                   ended_on__isnull=True).values_list("user_id", flat=True)
    return list(User.objects.filter(pk__in=list(ids), is_active=True).order_by("id"))


def _tell_stewards(topic: Topic, actor):
    def send():
        for u in stewards_of(topic.building_id):
            if u.pk != getattr(actor, "pk", None):
                _notify(u, "topic_proposed", f"本楼有新议题：{topic.title}", topic.body[:100], topic)

    transaction.on_commit(send)


def is_staff_in_scope(user, topic: Topic, action="list") -> bool:
    return policy.allows(user, KIND, action, topic.node.path)


def may_see_proposer(user, topic: Topic) -> bool:
    """Whose proposal it is: staff in scope, the proposer and whoever entered it."""
    if not signed_in(user):
        return False
    return user.pk in (topic.proposer_id, topic.entered_by_id) or is_staff_in_scope(user, topic)


def proposer_label(topic: Topic) -> str:
    if topic.proposer_id:
        return person_name(topic.proposer)
    return topic.proposer_name or (topic.proposer_resident.name if topic.proposer_resident_id else "")


def may_write_notes(user, topic: Topic) -> bool:
    return services.is_steward_of(user, topic) or is_staff_in_scope(user, topic, "create") or services.may_manage(
        user, topic)


def may_read_notes(user, topic: Topic) -> bool:
    return services.is_steward_of(user, topic) or is_staff_in_scope(user, topic, "list")


def _collecting(topic: Topic) -> bool:
    return topic.state == Topic.State.OPEN and topic.phase.proposals_open


def may_merge(user, topic: Topic) -> bool:
    """Whether `user` may merge this topic into another (the other one is checked by `merge`)."""
    if topic.state != Topic.State.OPEN:
        return False
    return services.may_manage(user, topic) or (_collecting(topic) and services.is_steward_of(user, topic))


def may_withdraw(user, topic: Topic) -> bool:
    return (signed_in(user) and _collecting(topic) and user.pk in (topic.proposer_id, topic.entered_by_id))


def open_count(user) -> int:
    """The user's own topics still being collected (a phase with proposals open)."""
    return Topic.objects.filter(proposer=user, state=Topic.State.OPEN, phase__proposals_open=True).count()


# --- proposing -------------------------------------------------------------------------------


def _place_of(user, token):
    """(channel, building, compound, node, resident id) of a resident's proposal."""
    from gridgov.geo.models import GridNode
    from gridgov.registry.models import Building, Compound

    home = services.home_of(user)
    if token:
        building = building_from_token(token)
        channel = Topic.Channel.QR
    else:
        building = (Building.objects.filter(pk=home.building_id).select_related("compound__community", "grid").first()
                    if home.building_id else None)
        channel = Topic.Channel.PHONE
    compound = building.compound if building is not None else (
        Compound.objects.filter(pk=home.compound_id).select_related("community", "grid").first() if home.compound_id else None)
    home_grid = GridNode.objects.filter(pk=home.grid_id).first() if home.grid_id else None
    node = (building.grid if building is not None and building.grid_id else None) or home_grid
    if node is None and compound is not None:
        node = compound.grid if compound.grid_id else compound.community
    if node is None:
        raise DeliberationError(_("无法确定您所在的楼栋，请扫描您所在楼栋张贴的议事二维码后再提出"), code="place")
    return channel, building, compound, node, home.resident_id


def _first_collecting(community):
    process = services.default_process(community)
    return process, services.first_phase(process, "proposals_open")


@transaction.atomic
def propose(user, *, title, body="", token=None, now=None) -> Topic:
    """A resident proposes a topic for their place: the building of the QR code they scanned
    (channel qr), else their home (channel phone)."""
    from gridgov.accounts.models import User
    from gridgov.registry.models import Resident

    if not signed_in(user):
        raise Forbidden(_("请先登录"))
    title, body = _clean_topic(title, body)
    channel, building, compound, node, resident_id = _place_of(user, token)
    User.objects.select_for_update().filter(pk=user.pk).first()  # one proposal at a time per person
    limit = conf.get_int("DELIBERATION_MAX_OPEN_PROPOSALS")
    if open_count(user) >= limit:
        raise DeliberationError(_("您已有 %(n)s 个议题正在征集中，请等它们转交社区后再提"), code="too_many", n=limit)
    community = services.community_of(node)
    if community is None:
        raise DeliberationError(_("议题须落在某个社区内"), code="place")
    process, phase = _first_collecting(community)
    resident = Resident.objects.filter(pk=resident_id).first() if resident_id else None
    topic = services.create_topic(user, title=title, body=body, node=node, channel=channel, compound=compound,
                                  building=building, proposer=user, proposer_name=person_name(user),
                                  proposer_resident=resident, process=process, phase=phase, now=now)
    _tell_stewards(topic, user)
    return topic


def _obj(model, value, what):
    if value is None or value == "":
        return None
    if isinstance(value, model):
        return value
    try:
        found = model.objects.filter(pk=int(value)).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise NotFound(_("没有这个%(what)s"), what=what)
    return found


@transaction.atomic
def enter_for(actor, *, title, body="", building=None, node=None, resident=None, person_name="",
              channel=Topic.Channel.STEWARD, now=None) -> Topic:
    """A steward enters a proposal for someone without a phone (an elderly neighbour) in a
    building they serve; staff with deliberation × create enter one from a letterbox slip, a
    home visit or the office. The topic keeps whose it is and who entered it."""
    from gridgov.geo.models import GridNode
    from gridgov.registry.models import Building, Resident

    if not signed_in(actor):
        raise Forbidden(_("请先登录"))
    if channel not in Topic.Channel.values or channel not in (*STEWARD_CHANNELS, *STAFF_CHANNELS):
        raise DeliberationError(_("没有这种录入渠道：%(channel)s"), code="channel", channel=channel)
    title, body = _clean_topic(title, body)
    building = _obj(Building, building, _("楼栋"))
    resident = _obj(Resident, resident, _("居民"))
    node = _obj(GridNode, node, _("网格"))
    if resident is not None:
        if resident.ended_on is not None:
            raise DeliberationError(_("这位居民已不在本地居住"), code="resident")
        home_building = resident.house.building_id if resident.house_id else None
        if building is None and home_building:
            building = Building.objects.get(pk=home_building)
        if building is None or home_building != building.pk:
            raise DeliberationError(_("%(name)s 不住在这栋楼"), code="resident", name=resident.name)
    if building is not None:
        building = Building.objects.select_related("compound__community", "grid").get(pk=building.pk)
        if building.ended_on is not None:
            raise DeliberationError(_("这栋楼已不存在"), code="place")
        node = building.grid or (building.compound.grid if building.compound_id else None) or node
    if node is None:
        raise DeliberationError(_("请选择议题所在的楼栋或网格"), code="place")
    steward = building is not None and building.pk in services.steward_building_ids(actor)
    staff = policy.allows(actor, KIND, "create", node.path)
    if not ((steward and channel in STEWARD_CHANNELS) or (staff and channel in STAFF_CHANNELS)):
        if channel == Topic.Channel.STEWARD:
            raise Forbidden(_("楼长只能为本人负责的楼栋代录议题"))
        raise Forbidden(_("您无权在这里代录议题"))
    name = (person_name or "").strip() or (resident.name if resident is not None else "")
    if len(name) > 50:
        raise DeliberationError(_("姓名最多 50 字"), code="name")
    if channel in (Topic.Channel.STEWARD, Topic.Channel.VISIT) and not name:
        raise DeliberationError(_("请填写提议人的姓名或选择居民"), code="name")
    community = services.community_of(node)
    if community is None:
        raise DeliberationError(_("议题须落在某个社区内"), code="place")
    process, phase = _first_collecting(community)
    topic = services.create_topic(actor, title=title, body=body, node=node, channel=channel,
                                  compound=building.compound if building is not None else None, building=building,
                                  proposer=None, proposer_name=name, proposer_resident=resident, process=process,
                                  phase=phase, now=now)
    if building is not None:
        _tell_stewards(topic, actor)
    return topic


# --- supporting ------------------------------------------------------------------------------


@transaction.atomic
def support(user, topic, now=None) -> Topic:
    """Support (附议) a topic one reads, while its phase has support open. One per person: a
    second tap changes nothing. The count moves by a conditional UPDATE in the same transaction."""
    if not signed_in(user):
        raise Forbidden(_("请先登录"))
    t = _topic(user, topic)
    now = now or timezone.now()
    if not services.phase_open(t, "support_open", now):
        raise Conflict(_("议题当前阶段不能附议"), code="closed")
    try:
        with transaction.atomic():
            Support.objects.create(topic=t, user=user, at=now)
    except IntegrityError:
        t.refresh_from_db()
        return t  # already supported: a double tap
    if Topic.objects.filter(pk=t.pk, state=Topic.State.OPEN).update(support_count=F("support_count") + 1) != 1:
        raise Conflict(_("议题当前阶段不能附议"), code="closed")
    history.record(user, "deliberation_topics", t, "support", {}, grid_path=t.node.path, at=now)
    t.refresh_from_db()
    return t


@transaction.atomic
def unsupport(user, topic, now=None) -> Topic:
    """Take one's support back (while support is open); nothing to take back is no error."""
    if not signed_in(user):
        raise Forbidden(_("请先登录"))
    t = _topic(user, topic)
    now = now or timezone.now()
    if not services.phase_open(t, "support_open", now):
        raise Conflict(_("议题当前阶段不能取消附议"), code="closed")
    deleted, _rows = Support.objects.filter(topic=t, user=user).delete()
    if deleted:
        Topic.objects.filter(pk=t.pk, support_count__gt=0).update(support_count=F("support_count") - 1)
        history.record(user, "deliberation_topics", t, "unsupport", {}, grid_path=t.node.path, at=now)
    t.refresh_from_db()
    return t


def supported(user, topic: Topic) -> bool:
    return signed_in(user) and Support.objects.filter(topic=topic, user=user).exists()


# --- comments --------------------------------------------------------------------------------


def comments_for(user, topic: Topic):
    """The comments `user` sees: the visible ones, their own held or rejected ones, and every
    held one for moderators of the topic's grid."""
    qs = Comment.objects.filter(topic=topic).select_related("author")
    if not signed_in(user):
        return qs.filter(state=Comment.State.VISIBLE)
    q = Q(state=Comment.State.VISIBLE) | Q(author=user)
    if services.may_moderate(user, topic):
        q |= Q(state=Comment.State.HELD)
    return qs.filter(q)


@transaction.atomic
def comment(user, topic, text, now=None) -> Comment:
    """Comment on a topic one reads while its phase has discussion open. A listed sensitive
    word holds the comment for moderation (shown to its author and moderators only)."""
    from gridgov.cases.moderation import find_words
    from gridgov.core.freetext import mask_personal

    if not signed_in(user):
        raise Forbidden(_("请先登录"))
    t = _topic(user, topic)
    now = now or timezone.now()
    if not services.phase_open(t, "discussion_open", now):
        raise Conflict(_("议题当前阶段不开放讨论"), code="closed")
    text = _clean(text, MAX_COMMENT, _("评论"), "text")
    words = find_words(text)
    c = Comment.objects.create(topic=t, author=user, author_name=person_name(user)[:150], text=mask_personal(text),
                               state=Comment.State.HELD if words else Comment.State.VISIBLE, held_words=words, at=now)
    if not words:
        Topic.objects.filter(pk=t.pk).update(comment_count=F("comment_count") + 1)
    history.record(user, "deliberation_comments", c, "create", {"state": [None, c.state], "topic": [None, t.pk]},
                   grid_path=t.node.path, at=now)
    if not words:
        _tell_proposer(t, c)
    return c


def _tell_proposer(t: Topic, c: Comment):
    if t.proposer_id and t.proposer_id != c.author_id:
        proposer = t.proposer
        transaction.on_commit(lambda: _notify(proposer, "topic_comment", f"您的议题“{t.title}”有新评论", c.text[:100], t))


def held_comments(user):
    """The held comments `user` moderates (deliberation × moderate on the topic's grid)."""
    qs = Comment.objects.filter(state=Comment.State.HELD).select_related("topic__node", "topic__community", "author")
    return within_reach(qs, user, KIND, "moderate", "topic__node__path").order_by("at", "id")


def _moderate(moderator, comment, to, now, note=""):
    pk = comment.pk if isinstance(comment, Comment) else comment
    c = Comment.objects.select_for_update(of=("self",)).select_related("topic__node", "topic__proposer").filter(pk=pk).first()
    if c is None:
        raise NotFound(_("没有这条评论"))
    if not services.may_moderate(moderator, c.topic):
        raise Forbidden(_("您无权审核这条评论"))
    now = now or timezone.now()
    if Comment.objects.filter(pk=c.pk, state=Comment.State.HELD).update(state=to, moderated_by=moderator,
                                                                        moderated_at=now) != 1:
        raise Conflict(_("这条评论已审核过"), code="moderated")
    c.state, c.moderated_by, c.moderated_at = to, moderator, now
    history.record(moderator, "deliberation_comments", c, "release" if to == Comment.State.VISIBLE else "reject",
                   {"state": [Comment.State.HELD, to]}, grid_path=c.topic.node.path, at=now, note=note[:255])
    return c


@transaction.atomic
def release_comment(moderator, comment, now=None) -> Comment:
    """A moderator releases a held comment: it is shown, counted, and the proposer is told."""
    c = _moderate(moderator, comment, Comment.State.VISIBLE, now)
    Topic.objects.filter(pk=c.topic_id).update(comment_count=F("comment_count") + 1)
    author = c.author
    transaction.on_commit(lambda: _notify(author, "comment_released", f"您对“{c.topic.title}”的评论已公开", "", c.topic))
    _tell_proposer(c.topic, c)
    return c


@transaction.atomic
def reject_comment(moderator, comment, reason, now=None) -> Comment:
    """A moderator rejects a held comment with a reason (its author is told)."""
    reason = _clean(reason, 200, _("驳回原因"), "reason")
    c = _moderate(moderator, comment, Comment.State.REJECTED, now, reason)
    author = c.author
    transaction.on_commit(lambda: _notify(author, "comment_rejected", f"您对“{c.topic.title}”的评论未通过审核", reason,
                                          c.topic))
    return c


# --- a steward's work (楼长集) ----------------------------------------------------------------


@transaction.atomic
def add_note(user, topic, text, now=None) -> TopicNote:
    """What a steward (or staff) heard about a topic on their rounds: never shown to residents."""
    from gridgov.core.freetext import mask_personal

    t = _topic(user, topic)
    if not may_write_notes(user, t):
        raise Forbidden(_("只有本楼楼长或社区工作人员可以补充走访情况"))
    text = _clean(text, MAX_NOTE, _("走访情况"), "text")
    now = now or timezone.now()
    note = TopicNote.objects.create(topic=t, author=user, author_name=person_name(user)[:150], text=mask_personal(text),
                                    at=now)
    history.record(user, "deliberation_topics", t, "note", {"note": [None, note.pk]}, grid_path=t.node.path, at=now)
    return note


def notes_for(user, topic: Topic) -> list:
    return list(topic.notes.all()) if may_read_notes(user, topic) else []


def stewarded(user, *, open_only=True):
    """The proposals of the buildings `user` serves as a steward, most supported first."""
    ids = services.steward_building_ids(user)
    if not ids:
        return Topic.objects.none()
    qs = Topic.objects.filter(building_id__in=ids).select_related("phase", "building", "compound", "node")
    if open_only:
        qs = qs.filter(state=Topic.State.OPEN, phase__proposals_open=True)
    return qs.order_by("-support_count", "-created_at", "-id")


def duplicates_of(topic: Topic, limit=5) -> list[dict]:
    """Likely duplicates of `topic` among the open topics of its community being collected, by
    text similarity (hotline.clusters' TF-IDF over character n-grams): [{"topic", "similarity"}]."""
    from gridgov.hotline.clusters import tfidf_matrix

    others = list(Topic.objects.filter(community_id=topic.community_id, state=Topic.State.OPEN,
                                       phase__proposals_open=True)
                  .exclude(pk=topic.pk).select_related("building", "compound").order_by("-created_at", "-id")[:500])
    if not others:
        return []
    # titles alone (short: a long body would dilute them) and titles with bodies; the closer counts
    titles = tfidf_matrix([topic.title] + [o.title for o in others])
    full = tfidf_matrix([f"{topic.title} {topic.body}"] + [f"{o.title} {o.body}" for o in others])
    sims = [max(a, b) for a, b in zip((titles[1:] @ titles[0]).tolist(), (full[1:] @ full[0]).tolist())]
    found = sorted(((s, o) for s, o in zip(sims, others) if s >= DUPLICATE_SIMILARITY), key=lambda p: (-p[0], p[1].pk))
    return [{"topic": o, "similarity": round(float(s), 3)} for s, o in found[:limit]]


def _may_merge_pair(user, source: Topic, target: Topic) -> bool:
    if services.may_manage(user, source) and services.may_manage(user, target):
        return True
    ids = set(services.steward_building_ids(user))
    return (source.building_id in ids and target.building_id in ids and source.phase.proposals_open
            and target.phase.proposals_open)


@transaction.atomic
def merge(user, source, target, now=None) -> Topic:
    """Merge the duplicate `source` into `target`: the source is merged (pointing to the target),
    its supports move (deduplicated) and its notes too; its proposer is told and follows the
    target (a support of theirs is added when they had none)."""
    s0, t0 = _topic(user, source), _topic(user, target)
    if s0.pk == t0.pk:
        raise DeliberationError(_("不能把议题合并到它自己"), code="same")
    # lock both rows, always in the same order (two merges at once never deadlock)
    locked = {t.pk: t for t in Topic.objects.select_for_update(of=("self",))
              .select_related("phase", "node", "proposer").filter(pk__in=sorted([s0.pk, t0.pk])).order_by("pk")}
    s, t = locked[s0.pk], locked[t0.pk]
    if s.community_id != t.community_id:
        raise DeliberationError(_("只能合并同一社区的议题"), code="community")
    if s.state != Topic.State.OPEN:
        raise Conflict(_("议题已%(state)s，不能再合并"), code="bad_state", state=s.get_state_display())
    if t.state != Topic.State.OPEN:
        raise Conflict(_("目标议题已%(state)s，不能合并进去"), code="bad_target", state=t.get_state_display())
    if not _may_merge_pair(user, s, t):
        raise Forbidden(_("您不能合并这两个议题"))
    now = now or timezone.now()
    have = set(Support.objects.filter(topic=t).values_list("user_id", flat=True))
    moved = [Support(topic=t, user_id=sp.user_id, at=sp.at) for sp in Support.objects.filter(topic=s)
             if sp.user_id not in have]
    have |= {sp.user_id for sp in moved}
    if s.proposer_id and s.proposer_id not in have:
        moved.append(Support(topic=t, user_id=s.proposer_id, at=now))
    Support.objects.bulk_create(moved, ignore_conflicts=True)
    Support.objects.filter(topic=s).delete()
    notes = TopicNote.objects.filter(topic=s).update(topic=t)
    Topic.objects.filter(pk=t.pk).update(support_count=Support.objects.filter(topic=t).count(), version=F("version") + 1)
    Topic.objects.filter(pk=s.pk, state=Topic.State.OPEN).update(
        state=Topic.State.MERGED, merged_into=t, support_count=0, phase_ends_at=None, closed_at=now,
        version=F("version") + 1)
    history.record(user, "deliberation_topics", s, "merge",
                   {"state": [Topic.State.OPEN, Topic.State.MERGED], "merged_into": [None, t.pk],
                    "supports_moved": len(moved), "notes_moved": notes}, grid_path=s.node.path, at=now)
    if s.proposer_id and s.proposer_id != user.pk:
        proposer = s.proposer
        transaction.on_commit(lambda: _notify(proposer, "topic_merged", f"您的议题“{s.title}”已合并到“{t.title}”",
                                              "今后请关注合并后的议题", t))
    t.refresh_from_db()
    return t


@transaction.atomic
def forward(steward, topic, note="", now=None) -> Topic:
    """A steward forwards a proposal of their building to the next phase (楼长集 → the
    community) with what they note: services.advance, the note kept as a TopicNote too."""
    t = _topic(steward, topic)
    note = _clean(note, MAX_NOTE, _("转交说明"), "note", required=False)
    now = now or timezone.now()
    if note:
        add_note(steward, t, note, now=now)
    return services.advance(steward, t, note=note[:255], now=now)


@transaction.atomic
def withdraw(user, topic, now=None) -> Topic:
    """The proposer (or whoever entered it) withdraws a topic still being collected."""
    t = _topic(user, topic)
    if not (signed_in(user) and user.pk in (t.proposer_id, t.entered_by_id)):
        raise Forbidden(_("只有提议人或代录人可以撤回议题"))
    if not _collecting(t):
        raise Conflict(_("议题已进入“%(phase)s”阶段，不能撤回"), code="bad_state", phase=t.phase.name)
    now = now or timezone.now()
    if Topic.objects.filter(pk=t.pk, state=Topic.State.OPEN).update(
            state=Topic.State.WITHDRAWN, closed_at=now, phase_ends_at=None, version=F("version") + 1) != 1:
        raise Conflict(_("议题已不在征集中"), code="bad_state")
    t.refresh_from_db()
    history.record(user, "deliberation_topics", t, "withdraw", {"state": [Topic.State.OPEN, Topic.State.WITHDRAWN]},
                   grid_path=t.node.path, at=now)
    transaction.on_commit(lambda: services.notify_participants(t, "topic_withdrawn", f"议题“{t.title}”已撤回",
                                                               exclude=[user]))
    return t


# --- what the pages and the API show ---------------------------------------------------------


def card(topic: Topic, user=None) -> dict:
    """A topic's card: never whose it is, unless `user` may know (may_see_proposer)."""
    out = {
        "id": topic.pk, "title": topic.title, "body": topic.body, "state": topic.state,
        "state_label": str(topic.get_state_display()), "channel": topic.channel,
        "channel_label": str(topic.get_channel_display()), "phase": topic.phase.name,
        "phase_position": topic.phase.position, "process": topic.process_id,
        "community": topic.community.name, "compound": topic.compound.name if topic.compound_id else "",
        "building": topic.building.name if topic.building_id else "", "grid": topic.node.name,
        "support_count": topic.support_count, "comment_count": topic.comment_count,
        "created_at": topic.created_at.isoformat(), "month": topic.month,
        "phase_ends_at": topic.phase_ends_at.isoformat() if topic.phase_ends_at else None,
        "merged_into": topic.merged_into_id,
    }
    if user is not None and may_see_proposer(user, topic):
        out["proposer"] = proposer_label(topic)
        out["proposer_resident"] = topic.proposer_resident_id
        out["entered_by"] = person_name(topic.entered_by) if topic.entered_by_id else ""
    return out


def acts(user, topic: Topic) -> dict:
    """The acts open to `user` on this topic (the buttons)."""
    mine_support = supported(user, topic)
    return {
        "support": services.phase_open(topic, "support_open") and not mine_support,
        "unsupport": services.phase_open(topic, "support_open") and mine_support,
        "comment": services.phase_open(topic, "discussion_open"),
        "note": topic.state == Topic.State.OPEN and may_write_notes(user, topic),
        "merge": may_merge(user, topic),
        "forward": _collecting(topic) and services.may_advance(user, topic),
        "withdraw": may_withdraw(user, topic),
    }


def comment_out(c: Comment, user=None, moderator: bool | None = None) -> dict:
    """A comment as the API shows it; the words that held it only to moderators (`moderator`:
    whether `user` moderates the comment's topic, when the caller knows)."""
    if moderator is None:
        moderator = user is not None and c.state != Comment.State.VISIBLE and services.may_moderate(user, c.topic)
    return {"id": c.pk, "text": c.text, "author": c.author_name, "state": c.state,
            "state_label": str(c.get_state_display()), "at": c.at.isoformat(),
            "mine": bool(user is not None and c.author_id == getattr(user, "pk", None)),
            "held_words": c.held_words if moderator else []}


def _context(user, topic: Topic, *, staff: bool) -> dict:
    ctx = {
        "topic": topic, "support_count": topic.support_count, "supported": supported(user, topic),
        "comments": list(comments_for(user, topic)), "acts": acts(user, topic),
        "notes": notes_for(user, topic), "may_moderate": services.may_moderate(user, topic),
        "proposer": proposer_label(topic) if may_see_proposer(user, topic) else "",
        "entered_by": person_name(topic.entered_by) if topic.entered_by_id and may_see_proposer(user, topic) else "",
        "merged_into": topic.merged_into if topic.merged_into_id else None,
        "merged": list(topic.merged.all().order_by("id")) if staff or may_read_notes(user, topic) else [],
        "duplicates": [],
    }
    if ctx["acts"]["merge"]:
        ctx["duplicates"] = duplicates_of(topic)
        if not staff:  # a steward merges only into the topics of the buildings they serve
            ids = set(services.steward_building_ids(user))
            ctx["duplicates"] = [d for d in ctx["duplicates"] if d["topic"].building_id in ids]
    return ctx


def staff_context(user, topic) -> dict:
    """What the staff topic page (/deliberation/topics/<id>/) shows of this slice: the context of
    templates/deliberation/_staff_topic_proposals.html, under "proposals"."""
    return {"proposals": _context(user, topic, staff=True)}


def m_context(user, topic) -> dict:
    """What the phone topic page (/m/deliberation/topics/<id>/) shows of this slice: the context
    of templates/deliberation/_m_topic_proposals.html, under "proposals"."""
    return {"proposals": _context(user, topic, staff=False)}


def staff_topics(user):
    """The topics of the grids in scope (deliberation × list)."""
    return within_reach(Topic.objects.select_related("phase", "community", "compound", "building", "node",
                                                     "proposer", "entered_by", "proposer_resident"),
                        user, KIND, "list", "node__path")


def home_topics(user):
    """The topics a resident sees at home: (mine, of my compound, of my community), open ones
    first, most supported first."""
    home = services.home_of(user)
    base = Topic.objects.select_related("phase", "community", "compound", "building", "node")
    order = ("-support_count", "-created_at", "-id")
    mine = (base.filter(Q(proposer=user) | Q(entered_by=user)).order_by("-created_at", "-id")
            if signed_in(user) else base.none())
    compound = (base.filter(compound_id=home.compound_id, state=Topic.State.OPEN).order_by(*order)
                if home.compound_id else base.none())
    community = (base.filter(community_id=home.community_id, compound__isnull=True, building__isnull=True,
                             state=Topic.State.OPEN).order_by(*order) if home.community_id else base.none())
    return mine, compound, community
