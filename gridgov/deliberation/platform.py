"""平台议: the month's data offered as proposals (recurring problems and topics from hotline.clusters, with evidence), choosing the month's topics (每月一题) and opening discussion for a set time, moving topics through their process, declining, the processes (phases as data)."""


def staff_context(user, topic) -> dict:
    """What the staff topic page (/deliberation/topics/<id>/) shows of this slice: the context of
    templates/deliberation/_staff_topic_platform.html."""
    return {}


def m_context(user, topic) -> dict:
    """What the phone topic page (/m/deliberation/topics/<id>/) shows of this slice: the context
    of templates/deliberation/_m_topic_platform.html."""
    return {}
