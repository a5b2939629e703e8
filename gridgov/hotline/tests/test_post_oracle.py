"""POST /api/hotline/tickets is no oracle for other communities' tickets.

The probe: a community secretary posts a ticket with another community's ticket number, placed
in their own community, beside a ticket that lands outside their scope (so the batch is rolled
back, nothing written). The answer named the other community's ticket ("tickets outside your
scope: X") when it existed, and only the misplaced one when it did not. Now both answer alike;
a batch that would be written, and only such a batch, is refused with a neutral message that
does not say where the ticket is, and the other community's ticket is left as it was."""

from django.test import Client

from gridgov.accounts.models import Role
from gridgov.hotline.models import Ticket
from gridgov.testing import make_user

from .util import point_in, ticket


def post(client, body):
    r = client.post("/api/hotline/tickets", body, content_type="application/json")
    return r.status_code, r.json()


def tickets(street, *ids, grid="c1g1m1"):
    lon, lat = point_in(street[grid])
    return [{"ticket_id": t, "received_at": "2024-03-05 09:30", "content": "楼道里堆满杂物", "lat": lat, "lon": lon}
            for t in ids]


def test_posting_another_communitys_ticket_number(street):
    ticket("OTHER1", "2024-03", street["c2g1m1"], content="二社区的工单")
    client = Client()
    client.force_login(make_user("sec1", Role.COMMUNITY_SECRETARY, [street["c1"]]))
    away = tickets(street, "AWAY", grid="c2g2m1")  # lands outside the caller's scope: rolls the batch back
    answers = {tid: post(client, tickets(street, tid) + away) for tid in ("OTHER1", "NEVER1")}
    assert answers["OTHER1"] == answers["NEVER1"] == (403, {"detail": "tickets that land outside your scope: AWAY"})
    assert not Ticket.objects.filter(ticket_id__in=["NEVER1", "AWAY"]).exists()
    # a batch that would be written meets the taken number: refused, no scope named, nothing changed
    status, body = post(client, tickets(street, "OTHER1", "NEW2"))
    assert status == 403 and "OTHER1" in body["detail"] and "scope" not in body["detail"]
    t = Ticket.objects.get(ticket_id="OTHER1")
    assert (t.grid_id, t.content) == (street["c2g1m1"].id, "二社区的工单")
    assert not Ticket.objects.filter(ticket_id="NEW2").exists()
    # the caller's own ticket is updated; a new number is created
    assert post(client, tickets(street, "NEW2"))[0] == 200
    assert post(client, tickets(street, "NEW2"))[1]["updated"] == 1
