"""gridgov: grid-based community governance for a street and its communities."""

__version__ = "0.1.0"
