"""A year of the property alliance for the demo street (`build_demo_property`)."""


def build_demo_property(seed: int, progress=None) -> dict:
    return {}
