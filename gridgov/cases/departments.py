"""The cases' side of a department's rename and end (accounts.departments sends the signals;
accounts never imports cases). Connected in CasesConfig.ready."""

from .models import OPEN_STATES, Case, Clock, ClockState, Item, Summons


def rename(sender, old: str, new: str, **kwargs) -> dict:
    """Inside the rename's transaction: every item, open case, summons and running clock that
    names `old` names `new`. Closed cases keep the name they were handled under (history)."""
    return {
        "items": Item.objects.filter(department=old).update(department=new),
        "open cases": Case.objects.filter(handler_department=old, state__in=OPEN_STATES).update(handler_department=new),
        "summonses": Summons.objects.filter(department=old).update(department=new),
        "clocks": Clock.objects.filter(department=old).exclude(state=ClockState.STOPPED).update(department=new),
    }


def references(sender, name: str, **kwargs) -> dict:
    """What still needs the department before it may end."""
    return {
        "在用事项": Item.objects.filter(department=name, active=True).count(),
        "办理中的事件": Case.objects.filter(handler_department=name, state__in=OPEN_STATES).count(),
        "未报到的吹哨": Summons.objects.filter(department=name, reported_at__isnull=True).count(),
    }
