"""A third-party plugin's getting-started steps: one ticked, one whose check
raises (the dashboard must still render, the step counted as not done)."""
from core import SetupStep, hookimpl


def _broken_check() -> bool:
    raise RuntimeError("the CRM is unreachable")


@hookimpl
def register_setup_steps():
    return [
        SetupStep("fixture.connected", "Connect the fixture CRM", "admin.plugins", lambda: True, order=60),
        SetupStep("fixture.synced", "Run a first sync", "admin.plugins", _broken_check, order=70),
    ]
