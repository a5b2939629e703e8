"""Tickets get their category from the trained classifier, through services.classify_texts."""

from gridgov.hotline import classifier, services
from gridgov.hotline.classifier import Prediction
from gridgov.hotline.models import CategorySource, Ticket


class _Stub:
    def predict(self, texts):
        return [Prediction("城乡建设/物业管理" if "物业" in t else "交通运输", 0.9, []) for t in texts]


def test_no_model_leaves_tickets_for_a_person(db, tmp_path, settings):
    settings.DATA_DIR = tmp_path
    assert services.classify_texts(["物业不管电梯"]) == [(None, 0.0)]


def test_import_and_pending_classification_use_the_model(db, tmp_path, settings, monkeypatch):
    settings.DATA_DIR = tmp_path
    path = classifier.default_model_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"stub")
    monkeypatch.setattr(classifier, "get_classifier", lambda path=None: _Stub())
    assert services.classify_texts(["物业不管电梯", "公交太挤"]) == [("城乡建设/物业管理", 0.9), ("交通运输", 0.9)]
    from django.utils import timezone

    now = timezone.now()
    a = Ticket.objects.create(ticket_id="T1", received_at=now, month=now.strftime("%Y-%m"), content="小区物业乱收费")
    b = Ticket.objects.create(
        ticket_id="T2", received_at=now, month=now.strftime("%Y-%m"), content="公交", category_l1="民政",
        category_source=CategorySource.STAFF,
    )
    assert services.classify_pending() == 1
    a.refresh_from_db(), b.refresh_from_db()
    assert (a.category_l1, a.category_l2, a.category_source) == ("城乡建设", "物业管理", CategorySource.CLASSIFIER)
    assert b.category_l1 == "民政"  # a staff decision is never overwritten
    assert services.classify_pending() == 0  # idempotent
