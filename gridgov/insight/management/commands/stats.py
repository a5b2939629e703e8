"""`gridgov stats`: the count of every kind of record, as JSON."""

import json

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db.models import Count


def collect() -> dict:
    from gridgov.accounts.models import GridAssignment, Role, User
    from gridgov.core.models import AuditEntry
    from gridgov.geo.levels import level_names
    from gridgov.geo.models import GridNode

    names = level_names()
    by_level = dict(GridNode.objects.values_list("level").annotate(n=Count("id")).order_by("level"))
    grid_nodes = {(names[lv] if lv < len(names) else f"level{lv}"): n for lv, n in sorted(by_level.items())}
    by_kind = dict(GridNode.objects.values_list("kind").annotate(n=Count("id")).order_by("kind"))

    registry = {}
    for model in apps.get_app_config("registry").get_models():
        registry[model._meta.model_name] = model.objects.count()

    roles = dict(User.objects.values_list("role").annotate(n=Count("id")).order_by("role"))
    users_by_role = {r: roles.get(r, 0) for r in Role.values}
    duties = dict(GridAssignment.objects.values_list("duty").annotate(n=Count("id")).order_by("duty"))
    # the duties in force today (the others are history: ended, or starting later)
    in_force = dict(GridAssignment.objects.in_force().values_list("duty").annotate(n=Count("id")).order_by("duty"))

    # every other model of the project's apps (cases, hotline, ... as they arrive)
    other = {}
    skip = {"geo.gridnode", "accounts.user", "accounts.gridassignment", "core.auditentry"}
    for model in apps.get_models():
        label = model._meta.label_lower
        if not model.__module__.startswith("gridgov.") or model._meta.app_label == "registry" or label in skip:
            continue
        other[label] = model._default_manager.count()

    return {
        "grid_nodes": {"total": sum(by_level.values()), "by_level": grid_nodes, "by_kind": by_kind},
        "registry": registry,
        "base_records": sum(registry.values()),
        "users": {"total": sum(roles.values()), "by_role": users_by_role},
        "assignments": {"total": sum(duties.values()), "by_duty": duties,
                        "in_force": sum(in_force.values()), "in_force_by_duty": in_force},
        "audit_entries": AuditEntry.objects.count(),
        "points": _points(),
        "volunteer_life": _volunteer_life(),
        "deliberation": _deliberation(),
        "property": _property(),
        "gridwork": _gridwork(),
        "other": dict(sorted(other.items())),
    }


def _points() -> dict:
    """The volunteers' points ledger: accounts by kind, transfers by kind, redemptions by state."""
    from gridgov.volunteers.models import Account, Redemption, Transfer

    def by(model, field):
        return dict(model.objects.values_list(field).annotate(n=Count("id")).order_by(field))

    return {"accounts": Account.objects.count(), "accounts_by_kind": by(Account, "kind"),
            "transfers": Transfer.objects.count(), "transfers_by_kind": by(Transfer, "kind"),
            "redemptions": Redemption.objects.count(), "redemptions_by_state": by(Redemption, "state")}


def _volunteer_life() -> dict:
    """Volunteer life (issue 11): each kind of record with its states, service hours by source."""
    from django.db.models import Sum

    from gridgov.volunteers import models as V

    def by(model, field):
        return dict(model.objects.values_list(field).annotate(n=Count("id")).order_by(field))

    hours = {src: float(h or 0) for src, h in
             V.ServiceRecord.objects.values_list("source").annotate(h=Sum("hours")).order_by("source")}
    return {
        "team_applications": by(V.TeamApplication, "state"),
        "activities": by(V.Activity, "state"),
        "signups": by(V.SignUp, "state"),
        "service_records": by(V.ServiceRecord, "source"),
        "service_hours": hours,
        "patrols": V.Patrol.objects.count(),
        "party_registrations": by(V.PartyRegistration, "kind"),
        "vanguard_posts": V.VanguardPost.objects.count(),
        "vanguard_duties": V.VanguardDuty.objects.count(),
        "wishes": by(V.Wish, "state"),
    }


def _deliberation() -> dict:
    """Deliberation (issue 12): topics by state and the open ones by phase ("process: n. phase"),
    meetings by state, decisions, results and ratings."""
    from gridgov.deliberation import models as D

    def by(model, field):
        return dict(model.objects.values_list(field).annotate(n=Count("id")).order_by(field))

    phases = {}
    for name, pos, phase, n in (D.Topic.objects.filter(state=D.Topic.State.OPEN)
                                .values_list("process__name", "phase__position", "phase__name")
                                .annotate(n=Count("id")).order_by("process__name", "phase__position")):
        phases[f"{name}: {pos}. {phase}"] = n
    return {
        "topics": D.Topic.objects.count(),
        "topics_by_state": by(D.Topic, "state"),
        "open_topics_by_phase": phases,
        "meetings": by(D.Meeting, "state"),
        "decisions": D.Decision.objects.count(),
        "decisions_done": D.Decision.objects.filter(done_at__isnull=False).count(),
        "results": D.Result.objects.count(),
        "ratings": by(D.TopicRating, "score"),
    }


def _property() -> dict:
    """The property alliance (issue 13): inspections by state and kind, deductions, problems by
    state (the open ones late now, reopened, escalated), the quarters published."""
    from django.utils import timezone

    from gridgov.property import models as P

    def by(model, field):
        return dict(model.objects.values_list(field).annotate(n=Count("id")).order_by(field))

    return {
        "inspections": P.Inspection.objects.count(),
        "inspections_by_state": by(P.Inspection, "state"),
        "submitted_by_kind": dict(P.Inspection.objects.filter(state=P.Inspection.State.SUBMITTED)
                                  .values_list("kind").annotate(n=Count("id")).order_by("kind")),
        "deductions": P.Deduction.objects.count(),
        "problems": P.Problem.objects.count(),
        "problems_by_state": by(P.Problem, "state"),
        "problems_late": P.Problem.objects.late(timezone.now()).count(),
        "problems_reopened": P.Problem.objects.filter(reopen_count__gt=0).count(),
        "problems_escalated": P.Problem.objects.filter(escalation__gt=0).count(),
        "quarters_published": sorted(set(P.ScoreSnapshot.objects.values_list("quarter", flat=True))),
    }


def _gridwork() -> dict:
    """Grid work (issue 14): patrols and their points, visits and the special-care residents
    checked, needs by state, daily logs by state, disputes by state and risk with the open ones,
    highlights and the weeks' picks, the periods published."""
    from gridgov.gridwork import models as G

    def by(model, field):
        return dict(model.objects.values_list(field).annotate(n=Count("id")).order_by(field))

    return {
        "patrols": G.Patrol.objects.count(),
        "patrols_by_state": by(G.Patrol, "state"),
        "patrol_points": G.PatrolPoint.objects.count(),
        "visits": G.Visit.objects.count(),
        "visit_residents": G.VisitResident.objects.count(),
        "needs_by_state": by(G.Need, "state"),
        "daily_logs_by_state": by(G.DailyLog, "state"),
        "disputes": G.Dispute.objects.count(),
        "disputes_by_state": by(G.Dispute, "state"),
        "disputes_by_risk": by(G.Dispute, "risk"),
        "mediation_sessions": G.MediationSession.objects.count(),
        "highlights": G.Highlight.objects.count(),
        "highlights_picked": G.Highlight.objects.filter(picked_at__isnull=False).count(),
        "leader_marks": G.LeaderMark.objects.count(),
        "periods_published": sorted(G.AssessmentSnapshot.objects.values_list("period", flat=True)),
    }


class Command(BaseCommand):
    help = "Print the count of every kind of record (grid nodes, base data, users, assignments, audit) as JSON."

    def handle(self, *args, **opts):
        self.stdout.write(json.dumps(collect(), ensure_ascii=False, indent=2))
