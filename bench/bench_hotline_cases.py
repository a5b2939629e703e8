"""Hotline import with case intake: each new ticket opens a case through
cases.services.submit_case (docs/hotline.md, "A ticket becomes a case"). Baseline in the same
run: the same number of tickets imported with their case intake left to the worker (tickets
only), so the difference is what intake adds per ticket. Then the worker's `open_cases` alone.
`python -m bench hotline_cases`."""

import tempfile

from bench.common import report, timed

N = 300


def _rows(prefix, n, nodes):
    import random

    rnd = random.Random(5)
    grids = [g for g in nodes if g.level == 3]
    texts = ["小区门口的路灯坏了", "路边井盖丢了", "楼道里堆满杂物", "早市小贩摆摊占道", "垃圾堆在路边没人清", "下雨后路口积水很深"]
    rows = []
    for i in range(n):
        g = rnd.choice(grids)
        lon = g.min_lon + rnd.random() * (g.max_lon - g.min_lon) * 0.5 + (g.max_lon - g.min_lon) * 0.25
        lat = g.min_lat + rnd.random() * (g.max_lat - g.min_lat) * 0.5 + (g.max_lat - g.min_lat) * 0.25
        rows.append([f"{prefix}{i:06d}", "2024-03-05 09:30", rnd.choice(texts) + f"（{i}）", "", "", f"{lat}", f"{lon}", "是", "是", "满意"])
    return rows


def _csv(rows):
    import csv

    fh = tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, encoding="utf-8", newline="")
    w = csv.writer(fh)
    w.writerow(["工单编号", "受理时间", "反映内容", "问题分类", "事发地址", "纬度", "经度", "是否联系", "是否解决", "评价"])
    w.writerows(rows)
    fh.close()
    return fh.name


def run():
    from unittest import mock

    from bench.bench_cases import _street
    from gridgov.geo.models import GridNode
    from gridgov.hotline import services, tasks
    from gridgov.hotline.models import Ticket

    _street()
    nodes = list(GridNode.objects.all())
    with_cases = _csv(_rows("BW", N, nodes))
    without = _csv(_rows("BO", N, nodes))
    t_with, r = timed(services.import_file, with_cases)
    assert r.cases == N, r.summary()
    with mock.patch.object(services, "SYNC_CASES_MAX", 0), mock.patch.object(tasks, "open_cases_task", lambda *a, **k: None):
        t_without, r2 = timed(services.import_file, without)
    assert r2.cases_deferred == N, r2.summary()
    ids = list(Ticket.objects.filter(ticket_id__startswith="BO").values_list("ticket_id", flat=True))
    t_worker, done = timed(services.open_cases, ids)
    assert done == N
    report(f"hotline import of {N} new tickets with cases", 1000 * t_with / N, "ms/ticket",
           "same, cases left to the worker", 1000 * t_without / N, higher_is_better=False)
    report("hotline open_cases in the worker", 1000 * t_worker / N, "ms/ticket",
           "import without cases", 1000 * t_without / N, higher_is_better=False)
