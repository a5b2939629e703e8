"""Signals other apps listen to, so that geo never imports them."""

from django.dispatch import Signal

#: sent inside the transaction when a subtree moved: old_prefix and new_prefix are paths
grid_path_moved = Signal()

#: sent inside the transaction when a root was put above the streets (geo.services.add_root):
#: every node is `shift` levels deeper; records that keep an absolute level follow
levels_shifted = Signal()
