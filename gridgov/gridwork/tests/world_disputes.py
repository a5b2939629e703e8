"""Helpers of the disputes slice's tests: a dispute recorded in c1g1 by its worker."""

from gridgov.gridwork import disputes

from .world import when

PARTIES = [("张三", "13812345678", "申请人", None), ("李四", "13987654321", "被申请人", None)]


def record(w, by="gw_c1g1", grid="c1g1m1", at=None, risk="low", kind="neighbour",
           summary="楼上漏水影响楼下，双方争执"):
    return disputes.record_dispute(w[by], kind, summary, PARTIES, risk=risk, place="1号楼", grid=w["street"][grid],
                                   now=at or when(2026, 1, 5))
