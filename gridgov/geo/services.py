"""Every change of the grid hierarchy goes through here."""

from django.db import transaction
from shapely.geometry.base import BaseGeometry

from .models import GeoVersion, GridNode
from .spatial import area_m2


@transaction.atomic
def save_node(node: GridNode, geom: BaseGeometry | None = None) -> GridNode:
    """Create or update a node with its polygon; keeps bbox, centre, area and the index version."""
    if geom is not None:
        if geom.is_empty:
            raise ValueError(f"grid {node.code}: empty geometry")
        node.geom_wkt = geom.wkt
        node.min_lon, node.min_lat, node.max_lon, node.max_lat = geom.bounds
        c = geom.representative_point()
        node.center_lon, node.center_lat = c.x, c.y
        node.area_m2 = area_m2(geom)
    old_path = None
    if node.pk:
        old_path = GridNode.objects.filter(pk=node.pk).values_list("path", flat=True).first()
    node.save()
    if old_path and old_path != node.path:
        for child in GridNode.objects.filter(path__startswith=old_path).exclude(pk=node.pk).order_by("level"):
            child.save()
    GeoVersion.bump()
    return node
