"""The doors into deliberation: /m/deliberation/ on the phone (the topics of my compound and
community, propose one, follow mine) and /deliberation/ for staff (the board of topics by phase,
the month's data, meetings, the work and the results), and the one page of a topic on each,
assembled from the slices: each slice module gives `staff_context` / `m_context` and its own
include (templates/deliberation/_staff_topic_<slice>.html, _m_topic_<slice>.html)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from gridgov.accounts.decorators import staff_required

from . import effect, execution, meetings, platform, proposals, services

SLICES = (proposals, platform, meetings, execution, effect)
SLICE_NAMES = ("proposals", "platform", "meetings", "execution", "effect")


def _topic(request, pk):
    try:
        return services.get_topic(request.user, pk)
    except services.NotFound:
        raise Http404("no such topic") from None


def _header(topic) -> dict:
    return {"topic": topic, "phases": services.phases_of(topic.process), "slices": SLICE_NAMES}


@staff_required
def staff_topic(request, pk):
    topic = _topic(request, pk)
    ctx = _header(topic)
    for mod in SLICES:
        ctx.update(mod.staff_context(request.user, topic))
    return render(request, "deliberation/staff_topic.html", ctx)


@login_required(login_url="/m/login/")
def m_topic(request, pk):
    topic = _topic(request, pk)
    ctx = {**_header(topic), "tab": "deliberation"}
    for mod in SLICES:
        ctx.update(mod.m_context(request.user, topic))
    return render(request, "deliberation/m_topic.html", ctx)
