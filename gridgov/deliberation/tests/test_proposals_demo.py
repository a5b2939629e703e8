"""The proposals part of the demo year: supports, a steward's notes, a duplicate merged, comments
with a few held and then released or rejected, all through the services and backdated."""

from gridgov.deliberation.demo import build_demo_deliberation
from gridgov.deliberation.models import Comment, Support, Topic, TopicNote


def test_the_demo_year_collects_supports_notes_and_comments(w):
    counts = build_demo_deliberation(seed=7)
    assert counts["deliberation_supports"] == Support.objects.count() > 0
    assert counts["deliberation_resident_logins"] >= 1  # the small world has too few people with a login
    assert TopicNote.objects.exists() and counts["deliberation_notes"] == TopicNote.objects.count()
    assert Comment.objects.filter(state=Comment.State.VISIBLE).exists()
    # every support is by someone who reads the topic, one per person
    for s in Support.objects.select_related("topic", "user")[:50]:
        assert Topic.objects.visible_to(s.user).filter(pk=s.topic_id).exists()
    merged = Topic.objects.filter(state=Topic.State.MERGED)
    assert merged.exists() and all(t.merged_into_id and not t.supports.exists() for t in merged)
    # the counters agree with the rows
    for t in Topic.objects.all():
        assert t.support_count == t.supports.count()
        assert t.comment_count == t.comments.filter(state=Comment.State.VISIBLE).count()
    # backdated: nothing after now, and a comment was held and then decided
    from django.utils import timezone

    assert not Support.objects.filter(at__gt=timezone.now()).exists()
    assert not Comment.objects.filter(at__gt=timezone.now()).exists()
    assert counts["deliberation_comments_held"] >= 1
    assert not Comment.objects.filter(state=Comment.State.HELD).exists()


def test_the_demo_is_deterministic(w):
    a = build_demo_deliberation(seed=3)
    sig_a = sorted(Support.objects.values_list("topic__title", "user__username"))
    b = build_demo_deliberation(seed=3)
    sig_b = sorted(Support.objects.values_list("topic__title", "user__username"))
    assert a["deliberation_supports"] == b["deliberation_supports"] and sig_a == sig_b
