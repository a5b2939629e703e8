"""多方商: meetings of the parties on a topic, invitations, attendance, minutes, options, the votes of those present and the decision (quorum and majority: settings)."""


def staff_context(user, topic) -> dict:
    """What the staff topic page (/deliberation/topics/<id>/) shows of this slice: the context of
    templates/deliberation/_staff_topic_meetings.html."""
    return {}


def m_context(user, topic) -> dict:
    """What the phone topic page (/m/deliberation/topics/<id>/) shows of this slice: the context
    of templates/deliberation/_m_topic_meetings.html."""
    return {}
