"""Month-end pages: the printable monthly report and its workbook. Views only read through the
rates module with the user's scope."""

import io

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from gridgov.web.views import staff_required

from . import clusters, rates
from .models import Ticket


def _month(month):
    try:
        return rates.check_month(month)
    except ValueError:
        raise Http404("bad month")


def _default_month():
    return rates.add_months(timezone.localtime().strftime("%Y-%m"), -1)


@staff_required
def monthly_report(request, month=None):
    month = _month(month or request.GET.get("month") or _default_month())
    level = 2 if request.GET.get("level") == "2" else 1
    report = rates.monthly_report(month, request.user, level)
    topics = clusters.month_topics(month, Ticket.objects.visible_to(request.user), limit=5)
    return render(request, "hotline/monthly_report.html", {
        "r": report, "topics": topics, "month": month, "level": level,
        "prev_month": rates.add_months(month, -1), "next_month": rates.add_months(month, 1),
    })


@staff_required
def monthly_report_xlsx(request, month):
    month = _month(month)
    level = 2 if request.GET.get("level") == "2" else 1
    buf = io.BytesIO()
    rates.export_xlsx(rates.monthly_report(month, request.user, level), buf)
    resp = HttpResponse(buf.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp["Content-Disposition"] = f'attachment; filename="hotline-rates-{month}.xlsx"'
    return resp
