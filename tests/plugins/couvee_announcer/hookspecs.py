"""The announcer fixture's own hook."""
from core import hookspec


@hookspec
def announcer_greetings(name):
    """A greeting for ``name``, shown on the announcer's page.

    Return a string or ``None``.

    Example::

        @hookimpl
        def announcer_greetings(name):
            return f"Hello {name}"
    """
