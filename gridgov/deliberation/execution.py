"""专人办、结果亮: the decision's owner, deadline and work carried out as a linked case, proactive project or volunteer activity with its clock; the published result with photos; the residents' ratings."""


def staff_context(user, topic) -> dict:
    """What the staff topic page (/deliberation/topics/<id>/) shows of this slice: the context of
    templates/deliberation/_staff_topic_execution.html."""
    return {}


def m_context(user, topic) -> dict:
    """What the phone topic page (/m/deliberation/topics/<id>/) shows of this slice: the context
    of templates/deliberation/_m_topic_execution.html."""
    return {}
