"""居民提、楼长集: propose (phone, building QR code, a steward or staff entering for someone), support, comment (moderated), a steward merging duplicates, adding notes and forwarding."""


def staff_context(user, topic) -> dict:
    """What the staff topic page (/deliberation/topics/<id>/) shows of this slice: the context of
    templates/deliberation/_staff_topic_proposals.html."""
    return {}


def m_context(user, topic) -> dict:
    """What the phone topic page (/m/deliberation/topics/<id>/) shows of this slice: the context
    of templates/deliberation/_m_topic_proposals.html."""
    return {}
