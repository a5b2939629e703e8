from django.db import models

from gridgov.accounts.querysets import scoped_queryset

from .levels import level_label, level_names


class GridNode(models.Model):
    """One node of the grid hierarchy: the street, a community or village, a grid, a micro-grid.

    `code` follows the 15-character scheme of docs/architecture.md (6 district + 3 street +
    3 community + 3 sequence; levels below the grid append 3 digits each). `path` is the
    materialised chain of codes from the street down ("/110106001000000/110106001001000/"),
    so a subtree is one prefix match: scope checks are `path__startswith`."""

    KIND_CHOICES = [("street", "街道"), ("community", "社区"), ("village", "村"), ("grid", "网格"), ("microgrid", "微网格")]

    code = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=100)
    level = models.PositiveSmallIntegerField(db_index=True)
    kind = models.CharField(max_length=20, blank=True, choices=KIND_CHOICES)
    parent = models.ForeignKey("self", null=True, blank=True, related_name="children", on_delete=models.PROTECT)
    path = models.CharField(max_length=400, db_index=True, editable=False)
    # WGS-84 polygon or multipolygon as WKT; bounding box and area kept for quick filters.
    geom_wkt = models.TextField(blank=True)
    min_lon = models.FloatField(null=True, blank=True)
    min_lat = models.FloatField(null=True, blank=True)
    max_lon = models.FloatField(null=True, blank=True)
    max_lat = models.FloatField(null=True, blank=True)
    center_lon = models.FloatField(null=True, blank=True)
    center_lat = models.FloatField(null=True, blank=True)
    area_m2 = models.FloatField(null=True, blank=True)
    households_target = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    policy_kind = "grids"
    objects = scoped_queryset("path").as_manager()

    class Meta:
        ordering = ["path"]
        indexes = [models.Index(fields=["level", "code"])]

    def __str__(self):
        return f"{self.name} ({self.code})"

    @property
    def level_name(self) -> str:
        names = level_names()
        return names[self.level] if self.level < len(names) else str(self.level)

    @property
    def level_label(self) -> str:
        return level_label(self.level)

    def compute_path(self) -> str:
        prefix = self.parent.path if self.parent_id else "/"
        return f"{prefix}{self.code}/"

    def save(self, *args, **kwargs):
        self.path = self.compute_path()
        super().save(*args, **kwargs)

    def ancestors(self):
        codes = [c for c in self.path.strip("/").split("/") if c and c != self.code]
        by_code = {n.code: n for n in GridNode.objects.filter(code__in=codes)}
        return [by_code[c] for c in codes if c in by_code]

    def geometry(self):
        from shapely import wkt

        return wkt.loads(self.geom_wkt) if self.geom_wkt else None


class GeoVersion(models.Model):
    """A version of the grid polygons, changed on every edit, so that each process reloads its
    in-memory index (the STRtree) when another process changed the grids.

    The version is a counter plus a random token: a counter alone repeats after a rolled-back
    edit (the next edit writes the same number over different grids); the token never does."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.PositiveBigIntegerField(default=0)
    token = models.CharField(max_length=32, default="", blank=True)
    #: the names of the levels above the street, root first: [] for one street, ["district"] for a
    #: district of streets (geo.levels reads it; geo.services.add_root sets it)
    above = models.JSONField(default=list, blank=True)

    @classmethod
    def bump(cls):
        import uuid

        from django.db.models import F

        token = uuid.uuid4().hex
        updated = cls.objects.filter(pk=1).update(version=F("version") + 1, token=token)
        if not updated:
            cls.objects.get_or_create(pk=1, defaults={"version": 1, "token": token})

    @classmethod
    def current(cls) -> str:
        row = cls.objects.filter(pk=1).values_list("version", "token").first()
        return f"{row[0]}:{row[1]}" if row else "0:"
