"""Implements a hook that the announcer fixture declares, without requiring
that plugin: with the announcer off, the implementation waits, unused."""
from core import hookimpl


@hookimpl
def announcer_greetings(name):
    return f"Hello {name} from the listener"
