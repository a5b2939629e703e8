"""Base data (一标三实; 人、地、事、物、情、组织): addresses, buildings, houses, residents,
organizations, places, party organizations, volunteers.

Every model here has a `grid` (the finest grid node it belongs to) and a default manager whose
queryset answers `.visible_to(user)`. Personal data (ID numbers, phones) is held encrypted,
with a blind index for search and a masked copy for lists; the plaintext is read only through
`registry.services.reveal`, which audits the read."""

import uuid

from django.db import models
# choice labels stay Chinese (they are the spreadsheets' words); pages translate them when shown
from django.utils.translation import gettext_noop

from gridgov.core import crypto
from gridgov.accounts.querysets import ScopedQuerySet

GRID = dict(to="geo.GridNode", null=True, blank=True, on_delete=models.PROTECT, related_name="+")


class Scoped(models.Model):
    grid = models.ForeignKey(**GRID)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    #: optimistic lock: every save through registry.services adds one; a save that read an older
    #: version is refused with what changed since
    version = models.PositiveIntegerField(default=1)
    #: a record is ended, never deleted: moved out, died, demolished, closed, left (the reason)
    ended_on = models.DateField(null=True, blank=True)
    end_reason = models.CharField(max_length=40, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        abstract = True


class PersonalDataMixin:
    """Setters for encrypted fields: `<name>_enc`, `<name>_hash`, `<name>_masked`."""

    MASKERS = {"id_number": crypto.mask_id_number, "phone": crypto.mask_phone}

    def set_personal(self, name: str, value: str | None):
        value = (value or "").strip().upper() if name == "id_number" else (value or "").strip()
        setattr(self, f"{name}_enc", crypto.encrypt(value))
        setattr(self, f"{name}_hash", crypto.blind_index(value))
        setattr(self, f"{name}_masked", self.MASKERS[name](value))


class Compound(Scoped):
    """A residential compound (小区)."""

    policy_kind = "compounds"
    name = models.CharField(max_length=100)
    community = models.ForeignKey("geo.GridNode", on_delete=models.PROTECT, related_name="compounds")
    kind = models.CharField(
        max_length=20,
        blank=True,
        choices=[
            ("old", gettext_noop("老旧小区")),
            ("resettlement", gettext_noop("回迁小区")),
            ("work_unit", gettext_noop("单位小区")),
            ("commercial", gettext_noop("商品房小区")),
        ],
    )
    property_company = models.ForeignKey(
        "Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_compounds"
    )
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)

    class Meta:
        unique_together = [("community", "name")]
        ordering = ["id"]

    def __str__(self):
        return self.name


class Building(Scoped):
    policy_kind = "buildings"

    compound = models.ForeignKey(Compound, null=True, blank=True, on_delete=models.PROTECT, related_name="buildings")
    name = models.CharField(max_length=60)  # 3号楼
    floors = models.PositiveSmallIntegerField(null=True, blank=True)
    units = models.PositiveSmallIntegerField(null=True, blank=True)
    year_built = models.PositiveSmallIntegerField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)

    class Meta:
        unique_together = [("compound", "name")]
        ordering = ["id"]

    def __str__(self):
        return f"{self.compound.name if self.compound_id else ''}{self.name}"


class Address(Scoped):
    """A standard address (标准地址): community → compound → building → unit → house."""

    policy_kind = "addresses"
    LEVELS = [
        ("compound", gettext_noop("小区")),
        ("building", gettext_noop("楼")),
        ("unit", gettext_noop("单元")),
        ("house", gettext_noop("户")),
    ]

    code = models.CharField(max_length=40, unique=True)
    level = models.CharField(max_length=10, choices=LEVELS)
    community = models.ForeignKey("geo.GridNode", on_delete=models.PROTECT, related_name="addresses")
    compound = models.ForeignKey(Compound, null=True, blank=True, on_delete=models.PROTECT, related_name="addresses")
    building = models.ForeignKey(Building, null=True, blank=True, on_delete=models.PROTECT, related_name="addresses")
    unit = models.CharField(max_length=20, blank=True)
    room = models.CharField(max_length=20, blank=True)
    text = models.CharField(max_length=255, db_index=True)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.text


class House(Scoped):
    policy_kind = "houses"

    USES = [
        ("residential", gettext_noop("住宅")),
        ("commercial", gettext_noop("商业")),
        ("office", gettext_noop("办公")),
        ("mixed", gettext_noop("商住")),
        ("other", gettext_noop("其他")),
    ]
    OCCUPANCY = [
        ("owner", gettext_noop("自住")),
        ("rented", gettext_noop("出租")),
        ("vacant", gettext_noop("空置")),
    ]

    address = models.OneToOneField(Address, on_delete=models.PROTECT, related_name="house")
    building = models.ForeignKey(Building, null=True, blank=True, on_delete=models.PROTECT, related_name="houses")
    use = models.CharField(max_length=20, choices=USES, default="residential")
    area_m2 = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    occupancy = models.CharField(max_length=10, choices=OCCUPANCY, default="owner")

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.address.text


class Organization(Scoped, PersonalDataMixin):
    policy_kind = "organizations"

    KINDS = [
        ("property_company", gettext_noop("物业公司")),
        ("shop", gettext_noop("商户")),
        ("social_org", gettext_noop("社会组织")),
        ("unit", gettext_noop("驻区单位")),
        ("enterprise", gettext_noop("企业")),
        ("school", gettext_noop("学校")),
        ("medical", gettext_noop("医疗机构")),
        ("other", gettext_noop("其他")),
    ]

    name = models.CharField(max_length=150, db_index=True)
    kind = models.CharField(max_length=20, choices=KINDS)
    credit_code = models.CharField(max_length=18, blank=True, db_index=True)  # 统一社会信用代码
    address = models.ForeignKey(Address, null=True, blank=True, on_delete=models.SET_NULL, related_name="organizations")
    address_text = models.CharField(max_length=255, blank=True)
    contact_name = models.CharField(max_length=50, blank=True)
    phone_enc = models.TextField(blank=True)
    phone_hash = models.CharField(max_length=40, blank=True, db_index=True)
    phone_masked = models.CharField(max_length=20, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    #: a property company's department (its users are property staff: accounts.Role.PROPERTY_STAFF)
    department = models.OneToOneField(
        "accounts.Department", null=True, blank=True, on_delete=models.SET_NULL, related_name="organization"
    )

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name


class Resident(Scoped, PersonalDataMixin):
    """A real resident (实有人口). Name is shown in scope; ID number and phone are encrypted."""

    policy_kind = "residents"
    GENDERS = [("M", gettext_noop("男")), ("F", gettext_noop("女"))]
    RESIDENCE = [
        ("registered", gettext_noop("户籍")),
        ("floating", gettext_noop("流动")),
        ("overseas", gettext_noop("境外")),
    ]
    #: tags; the first five are the special-care groups 老弱病残孕
    TAGS = {
        "elderly": gettext_noop("老年人"),
        "frail": gettext_noop("困难/体弱"),
        "sick": gettext_noop("重病/慢病"),
        "disabled": gettext_noop("残疾人"),
        "pregnant": gettext_noop("孕产妇"),
        "living_alone": gettext_noop("独居"),
        "low_income": gettext_noop("低保"),
        "veteran": gettext_noop("退役军人"),
        "key_person": gettext_noop("重点人员"),
        "child": gettext_noop("儿童"),
    }
    SPECIAL_CARE = ("elderly", "frail", "sick", "disabled", "pregnant")

    name = models.CharField(max_length=50, db_index=True)
    id_number_enc = models.TextField(blank=True)
    id_number_hash = models.CharField(max_length=40, blank=True, db_index=True)
    id_number_masked = models.CharField(max_length=20, blank=True)
    phone_enc = models.TextField(blank=True)
    phone_hash = models.CharField(max_length=40, blank=True, db_index=True)
    phone_masked = models.CharField(max_length=20, blank=True)
    gender = models.CharField(max_length=1, choices=GENDERS, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    ethnicity = models.CharField(max_length=20, blank=True)
    household_no = models.CharField(max_length=30, blank=True, db_index=True)  # 户号
    relation = models.CharField(max_length=20, blank=True)  # 与户主关系
    residence_type = models.CharField(max_length=12, choices=RESIDENCE, default="registered")
    registered_address = models.CharField(max_length=255, blank=True)  # 户籍地址
    house = models.ForeignKey(House, null=True, blank=True, on_delete=models.SET_NULL, related_name="residents")
    tags = models.JSONField(default=list, blank=True)
    party_member = models.BooleanField(default=False)
    party_org = models.ForeignKey(
        "PartyOrganization", null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name

    @property
    def special_care(self) -> list[str]:
        return [t for t in self.tags if t in self.SPECIAL_CARE]

    @property
    def tag_labels(self) -> list[str]:
        return [self.TAGS.get(t, t) for t in self.tags]


class Place(Scoped):
    policy_kind = "places"

    KINDS = [
        ("key_place", gettext_noop("重点场所")),
        ("service_station", gettext_noop("服务驿站")),
        ("party_mass_center", gettext_noop("党群服务中心")),
        ("school", gettext_noop("学校")),
        ("hospital", gettext_noop("医疗机构")),
        ("market", gettext_noop("市场")),
        ("charging_shed", gettext_noop("电动车充电棚")),
        ("other", gettext_noop("其他")),
    ]

    name = models.CharField(max_length=150)
    kind = models.CharField(max_length=20, choices=KINDS)
    address_text = models.CharField(max_length=255, blank=True)
    lat = models.FloatField()
    lon = models.FloatField()
    open_hours = models.CharField(max_length=60, blank=True)
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name


class PartyOrganization(Scoped):
    """A party organization set on one or more grids (支部建在网格上). `grid` is its home node."""

    policy_kind = "party_orgs"
    KINDS = [
        ("committee", gettext_noop("党委")),
        ("general_branch", gettext_noop("党总支")),
        ("branch", gettext_noop("党支部")),
        ("group", gettext_noop("党小组")),
    ]

    name = models.CharField(max_length=150, unique=True)
    kind = models.CharField(max_length=20, choices=KINDS, default="branch")
    grids = models.ManyToManyField("geo.GridNode", related_name="party_organizations", blank=True)
    secretary_name = models.CharField(max_length=50, blank=True)
    #: the secretary's account: sees the branch's members' service, publishes its activities
    secretary = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="led_party_orgs")
    member_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name


class VolunteerTeam(Scoped):
    policy_kind = "volunteers"

    KINDS = [
        ("steward", gettext_noop("楼门长")),
        ("patrol", gettext_noop("平安巡逻")),
        ("environment", gettext_noop("环境整治")),
        ("elderly_care", gettext_noop("为老服务")),
        ("culture", gettext_noop("文化宣传")),
        ("mediation", gettext_noop("矛盾调解")),
        ("emergency", gettext_noop("应急救援")),
        ("youth", gettext_noop("青少年服务")),
    ]

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=KINDS)
    #: the team's leader: approves applications to join and publishes the team's activities
    leader = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="led_teams")

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name


class Volunteer(Scoped, PersonalDataMixin):
    """A building steward or volunteer (苑苑). May be linked to a resident record and a user."""

    policy_kind = "volunteers"
    KINDS = [("steward", gettext_noop("楼门长")), ("volunteer", gettext_noop("志愿者"))]

    name = models.CharField(max_length=50)
    kind = models.CharField(max_length=10, choices=KINDS)
    resident = models.ForeignKey(Resident, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    user = models.OneToOneField(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="volunteer"
    )
    team = models.ForeignKey(VolunteerTeam, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    building = models.ForeignKey(Building, null=True, blank=True, on_delete=models.SET_NULL, related_name="stewards")
    phone_enc = models.TextField(blank=True)
    phone_hash = models.CharField(max_length=40, blank=True, db_index=True)
    phone_masked = models.CharField(max_length=20, blank=True)
    duties = models.CharField(max_length=100, blank=True)  # 五大员: 信息员、宣传员、调解员、监督员、服务员
    joined = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name


class PropertyProject(Scoped):
    """A property-management project: one company serving one or more compounds."""

    policy_kind = "compounds"
    name = models.CharField(max_length=150, unique=True)
    company = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="property_projects")
    compounds = models.ManyToManyField(Compound, related_name="property_projects", blank=True)
    manager_name = models.CharField(max_length=50, blank=True)
    contract_end = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name


class ExportJobQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The jobs `user` asked for (a relation); whom the policy table lets read exports
        (exports × read: administrators) sees every job. Anyone else's job is invisible (404
        like a missing one)."""
        if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
            return self.none()
        from gridgov.accounts import policy

        if policy.allows(user, "exports", "read"):
            return self
        return self.filter(requested_by=user)


class ExportJob(models.Model):
    """One export of base data to .xlsx, run by the worker (registry.exporters.run_job): who
    asked, what (kind and filters), the rights recorded when they asked, its state and progress,
    and the file it wrote under GRIDGOV_DATA_DIR/exports (deleted when it expires)."""

    QUEUED, RUNNING, DONE, FAILED, EXPIRED = "queued", "running", "done", "failed", "expired"
    STATES = [
        (QUEUED, gettext_noop("排队中")),
        (RUNNING, gettext_noop("正在导出")),
        (DONE, gettext_noop("已完成")),
        (FAILED, gettext_noop("失败")),
        (EXPIRED, gettext_noop("已过期")),
    ]
    UNFINISHED = (QUEUED, RUNNING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="export_jobs")
    kind = models.CharField(max_length=20)
    filters = models.JSONField(default=dict, blank=True)  # {"grid": code}
    # what the user could see when they asked: the grid paths of their scope (None: all of
    # the kind) and whether their role may read personal data of the kind at all
    scope_paths = models.JSONField(null=True, blank=True)
    personal = models.BooleanField(default=False)
    state = models.CharField(max_length=10, choices=STATES, default=QUEUED, db_index=True)
    rows_total = models.IntegerField(null=True, blank=True)
    rows_done = models.IntegerField(default=0)
    revealed_rows = models.IntegerField(default=0)
    error = models.CharField(max_length=40, blank=True)  # a code (exporters.ERRORS)
    file = models.CharField(max_length=100, blank=True)  # name inside the exports folder
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)  # the running job's heartbeat

    objects = ExportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.kind} export {self.pk} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state not in self.UNFINISHED

    @property
    def percent(self) -> int:
        if self.state == self.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, self.rows_done * 100 // self.rows_total)
