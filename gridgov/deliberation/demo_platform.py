"""The demo year of deliberation, the platform part (called by demo.build_demo_deliberation as it
walks each demo topic through its phases; see demo.py)."""


def on_phase(ctx, topic, phase, at) -> None:
    """Act on `topic`, which has just entered `phase` at `at` (backdated), through this slice's
    services: what the phase's flags open for this slice."""


def counts(ctx) -> dict:
    return {}
