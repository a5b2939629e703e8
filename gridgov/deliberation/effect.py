"""Whether it worked: the cases and tickets of the topic's problem at its place, month by month before and after the decision, and whether the change is beyond what month-to-month noise explains."""


def staff_context(user, topic) -> dict:
    """What the staff topic page (/deliberation/topics/<id>/) shows of this slice: the context of
    templates/deliberation/_staff_topic_effect.html."""
    return {}


def m_context(user, topic) -> dict:
    """What the phone topic page (/m/deliberation/topics/<id>/) shows of this slice: the context
    of templates/deliberation/_m_topic_effect.html."""
    return {}
