from django import template

register = template.Library()


@register.filter
def pct(v):
    """0.8147 → '81.47'; None → '—'."""
    return "—" if v is None else f"{v * 100:.2f}"


@register.filter
def pp(v):
    """A change of a rate in percentage points, signed."""
    return "—" if v is None else f"{v * 100:+.2f}"


@register.filter
def get(d, key):
    return d.get(key) if d else None
