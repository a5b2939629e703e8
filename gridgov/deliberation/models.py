"""Deliberation (六步议事协商): from a resident's proposal to a published result.

* `Process` and `Phase`: a topic's process is data, a list of phases with flags (proposals open,
  support open, discussion open, meeting, execution, published). The six steps of Nanyuan
  (居民提、楼长集、平台议、多方商、专人办、结果亮) are one process; a community may run a shorter one
  (three phases) or a longer one. Decidim's phases are the model.
* `Topic` (议题): a proposal while it is collected, then the community's topic; it sits in one
  phase of its process (`phase`), and is open, merged into another, declined, withdrawn or
  closed. It names its place (building, compound, grid), whose it is and who entered it, and the
  problem it is about (place and category as hotline.clusters counts them: the effect measure).
* `Support`, `Comment` (moderated as reports are), `TopicNote` (what a steward heard).
* `Meeting` (多方商) with `Invitee`s (the parties), `Option`s and `Vote`s of those present;
  `Decision` names the adopted option, the owner, the deadline and the work (专人办) and links
  the case, proactive project or volunteer activity that carries it out.
* `Result` (结果亮) with photos, and the residents' `TopicRating`.

Every write goes through the app's services (one transaction, one history row, notifications on
commit)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridgov.accounts.querysets import within_reach

#: the access table's kind (accounts.policy)
POLICY_KIND = "deliberation"

#: the six flags a phase may carry: what the phase opens
FLAGS = ("proposals_open", "support_open", "discussion_open", "meeting", "execution", "published")


class Process(models.Model):
    """A process: the ordered phases a topic goes through. `node` None: offered everywhere (the
    street's); else a community's own. The default of a community is its own default process,
    else the street-wide default."""

    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    node = models.ForeignKey("geo.GridNode", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    is_default = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["node"], condition=Q(is_default=True, node__isnull=False),
                                    name="one_default_process_per_node"),
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True, node__isnull=True),
                                    name="one_street_default_process"),
        ]

    def __str__(self):
        return self.name


class Phase(models.Model):
    """One phase of a process (position 1, 2, ...), with the flags of what it opens."""

    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="phases")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=40)
    description = models.CharField(max_length=200, blank=True)
    #: residents and stewards propose; stewards merge duplicates and add notes (居民提、楼长集)
    proposals_open = models.BooleanField(default=False)
    #: residents support (附议)
    support_open = models.BooleanField(default=False)
    #: residents comment (moderated)
    discussion_open = models.BooleanField(default=False)
    #: the parties meet and decide (多方商): leaving the phase needs a decision
    meeting = models.BooleanField(default=False)
    #: one person carries the decision out (专人办): leaving the phase needs the work done
    execution = models.BooleanField(default=False)
    #: the result is published and rated (结果亮): leaving the phase needs a published result
    published = models.BooleanField(default=False)
    #: the phase's usual length; entering it sets the topic's `phase_ends_at` (None: open-ended)
    days = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["process_id", "position"]
        constraints = [models.UniqueConstraint(fields=["process", "position"], name="one_phase_per_position")]

    def __str__(self):
        return f"{self.process}: {self.position}. {self.name}"

    def flags(self) -> dict:
        return {f: getattr(self, f) for f in FLAGS}


class TopicQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The topics `user` may read: staff those of the grids in scope (deliberation × list);
        anyone signed in the topics they proposed or entered, a steward those of the buildings
        they serve, a resident those of their compound and the community-wide topics of their
        community (services.home_of). Merged topics stay readable (they point to their target)."""
        if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
            return self.none()
        staff = within_reach(self, user, POLICY_KIND, "list", "node__path")
        from .services import home_of, steward_building_ids

        q = Q(proposer=user) | Q(entered_by=user)
        buildings = steward_building_ids(user)
        if buildings:
            q |= Q(building_id__in=buildings)
        home = home_of(user)
        if home.compound_id:
            q |= Q(compound_id=home.compound_id)
        if home.community_id:
            q |= Q(community_id=home.community_id, compound__isnull=True, building__isnull=True)
        return (staff | self.filter(q)).distinct()


class Topic(models.Model):
    class State(models.TextChoices):
        OPEN = "open", _("进行中")
        MERGED = "merged", _("已合并")
        DECLINED = "declined", _("未采纳")
        WITHDRAWN = "withdrawn", _("已撤回")
        CLOSED = "closed", _("已完结")

    class Channel(models.TextChoices):
        PHONE = "phone", _("手机提交")
        QR = "qr", _("楼栋二维码")
        STEWARD = "steward", _("楼长代录")
        LETTERBOX = "letterbox", _("意见箱")
        VISIT = "visit", _("入户走访")
        DATA = "data", _("数据发现")
        STAFF = "staff", _("社区录入")

    title = models.CharField(max_length=80)
    body = models.TextField(blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.PHONE)
    process = models.ForeignKey(Process, on_delete=models.PROTECT, related_name="topics")
    phase = models.ForeignKey(Phase, on_delete=models.PROTECT, related_name="+")
    phase_started_at = models.DateTimeField()
    #: the end of the phase's set time (discussion open for 14 days, ...); None: open-ended
    phase_ends_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN, db_index=True)
    #: where: the grid of its place (scope), its community, and the compound and building if any
    node = models.ForeignKey("geo.GridNode", on_delete=models.PROTECT, related_name="+")
    community = models.ForeignKey("geo.GridNode", on_delete=models.PROTECT, related_name="+")
    compound = models.ForeignKey("registry.Compound", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    building = models.ForeignKey("registry.Building", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    #: whose proposal it is: a user, or a person without a login named by the steward who
    #: entered it (an elderly neighbour), optionally the registry's resident
    proposer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="proposed_topics")
    proposer_name = models.CharField(max_length=50, blank=True)
    proposer_resident = models.ForeignKey("registry.Resident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    #: who typed it (the proposer, their steward, community staff)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged")
    decline_reason = models.CharField(max_length=200, blank=True)
    #: the month whose topic it was chosen as (每月一题), "YYYY-MM"
    month = models.CharField(max_length=7, blank=True, db_index=True)
    #: the problem it is about, as hotline.clusters counts it: place ("compound:12", "grid:5")
    #: and category key (hotline.taxonomy.category_key, or an item's code for cases); with the
    #: evidence from the data (counts, months, examples) when it was offered from the data
    problem_place = models.CharField(max_length=40, blank=True)
    problem_category = models.CharField(max_length=120, blank=True)
    problem_category_l1 = models.CharField(max_length=60, blank=True)
    problem_category_l2 = models.CharField(max_length=60, blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    support_count = models.PositiveIntegerField(default=0)
    comment_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    #: when its decision was made: the effect measure's pivot
    decided_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    objects = TopicQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["community", "state"]), models.Index(fields=["compound", "state"])]

    def __str__(self):
        return self.title


class TopicNote(models.Model):
    """What a steward (or staff) heard about a topic on their rounds (楼长集): staff and stewards
    read it, not the public."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    author_name = models.CharField(max_length=150, blank=True)
    text = models.TextField()
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]


class Support(models.Model):
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="supports")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        constraints = [models.UniqueConstraint(fields=["topic", "user"], name="one_support_per_person")]


class Comment(models.Model):
    """A resident's comment, moderated as reports are: a comment with a listed sensitive word is
    held until a moderator releases or rejects it (cases.moderation)."""

    class State(models.TextChoices):
        VISIBLE = "visible", _("已公开")
        HELD = "held", _("待审核")
        REJECTED = "rejected", _("已驳回")

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    author_name = models.CharField(max_length=150, blank=True)
    #: the text as shown (personal data masked: core.freetext)
    text = models.TextField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.VISIBLE, db_index=True)
    held_words = models.JSONField(default=list, blank=True)
    at = models.DateTimeField()
    moderated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    moderated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]


class Meeting(models.Model):
    """A meeting of the parties (多方商) on a topic, online or on site."""

    class Mode(models.TextChoices):
        ONSITE = "onsite", _("现场")
        ONLINE = "online", _("线上")

    class State(models.TextChoices):
        SCHEDULED = "scheduled", _("已召集")
        HELD = "held", _("已召开")
        CANCELLED = "cancelled", _("已取消")

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="meetings")
    title = models.CharField(max_length=100)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.ONSITE)
    place = models.CharField(max_length=150, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.SCHEDULED, db_index=True)
    minutes = models.TextField(blank=True)
    #: the quorum and majority in force when it was held (settings at the time)
    quorum = models.FloatField(null=True, blank=True)
    majority = models.FloatField(null=True, blank=True)
    convened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    held_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at", "-id"]


class Invitee(models.Model):
    """A party invited to a meeting: a person (with or without a login) for one of the parties."""

    class Party(models.TextChoices):
        COMMUNITY = "community", _("社区")
        PROPERTY = "property", _("物业")
        OWNERS = "owners", _("业委会")
        UNIT = "unit", _("驻区单位")
        RESIDENT = "resident", _("居民代表")
        DEPARTMENT = "department", _("职能部门")
        OTHER = "other", _("其他")

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="invitees")
    party = models.CharField(max_length=12, choices=Party.choices)
    name = models.CharField(max_length=100)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    organization = models.ForeignKey("registry.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    #: None: not yet known; True / False recorded at the meeting (or by joining online)
    attended = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["meeting", "user"], condition=Q(user__isnull=False),
                                               name="one_invitation_per_user")]


class Option(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveSmallIntegerField()
    text = models.CharField(max_length=200)

    class Meta:
        ordering = ["meeting_id", "position"]
        constraints = [models.UniqueConstraint(fields=["meeting", "position"], name="one_option_per_position")]


class Vote(models.Model):
    """One vote of one party present (an invitee who attended)."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="votes")
    invitee = models.ForeignKey(Invitee, on_delete=models.CASCADE, related_name="votes")
    option = models.ForeignKey(Option, on_delete=models.CASCADE, related_name="votes")
    at = models.DateTimeField()
    #: who recorded it (the invitee online, or the community on site)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["meeting", "invitee"], name="one_vote_per_invitee")]


class Decision(models.Model):
    """The decision on a topic and its execution (专人办): the owner, the deadline and the work,
    carried out as a case, a proactive project or a volunteer activity (linked), or as other work
    the owner reports done."""

    class Carrier(models.TextChoices):
        CASE = "case", _("事件")
        PROJECT = "project", _("主动治理项目")
        ACTIVITY = "activity", _("志愿活动")
        OTHER = "other", _("其他")

    topic = models.OneToOneField(Topic, on_delete=models.CASCADE, related_name="decision")
    meeting = models.ForeignKey(Meeting, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    option = models.ForeignKey(Option, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    summary = models.TextField()
    #: the count at the meeting: invited, present, votes for the adopted option
    invited = models.PositiveIntegerField(default=0)
    present = models.PositiveIntegerField(default=0)
    votes_for = models.PositiveIntegerField(default=0)
    decided_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    #: 专人办: one person carries it out by the deadline
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_decisions")
    owner_name = models.CharField(max_length=100, blank=True)
    deadline = models.DateField(null=True, blank=True)
    work = models.TextField(blank=True)
    carrier = models.CharField(max_length=10, choices=Carrier.choices, blank=True)
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    project = models.ForeignKey("hotline.ProactiveProject", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    activity = models.ForeignKey("volunteers.Activity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_note = models.CharField(max_length=300, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-decided_at", "-id"]


def result_photo_path(instance, filename):
    return f"deliberation/{instance.result.topic_id}/{instance.pk or 'new'}-{filename}"[:200]


class Result(models.Model):
    """The published result (结果亮): a summary and photos, shown to the residents of the place."""

    topic = models.OneToOneField(Topic, on_delete=models.CASCADE, related_name="result")
    summary = models.TextField()
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")


class ResultPhoto(models.Model):
    result = models.ForeignKey(Result, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(upload_to=result_photo_path, max_length=200)
    content_type = models.CharField(max_length=40)

    class Meta:
        ordering = ["id"]


class TopicRating(models.Model):
    """A resident's rating of a published result, as they rate cases (cases.models.Score)."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="ratings")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    score = models.CharField(max_length=12)
    comment = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        constraints = [models.UniqueConstraint(fields=["topic", "user"], name="one_rating_per_person")]
