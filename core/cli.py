"""The ``couvee`` command line."""
from __future__ import annotations

import logging
import signal

import click

from .db import ConfigError


def _app(**overrides):
    from .app import create_app

    try:
        return create_app(overrides or None)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


class CouveeGroup(click.Group):
    """Adds the commands of active plugins (``register_commands``) when asked."""

    def main(self, *args, **kwargs):
        """SIGTERM ends any command like Ctrl-C does: through its cleanup and
        the exit handlers, so the embedded Redis it started is released
        (``serve``, ``worker`` and ``cron`` put their graceful handlers on top)."""
        import threading

        if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
            return super().main(*args, **kwargs)
        previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
        try:
            return super().main(*args, **kwargs)
        finally:
            signal.signal(signal.SIGTERM, previous)

    def _plugin_commands(self, ctx) -> dict:
        """Commands of the active plugins, built once per invocation."""
        root = ctx.find_root()
        if "couvee_plugin_commands" not in root.meta:
            commands = root.meta["couvee_plugin_commands"] = {}
            try:
                app = _app()
            except click.ClickException:
                return commands
            for item in app.extensions["couvee"].registries.commands:
                commands[item.id] = _in_app_context(item.command, app)
        return root.meta["couvee_plugin_commands"]

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)))

    def get_command(self, ctx, name):
        command = super().get_command(ctx, name)
        if command is None:
            command = self._plugin_commands(ctx).get(name)
        return command


def _in_app_context(command: click.Command, app) -> click.Command:
    """A copy of a plugin's command whose callback runs inside ``app`` (the
    plugin's own command object is left untouched)."""
    import copy

    callback = command.callback
    bound = copy.copy(command)

    def run(*args, **kwargs):
        with app.app_context(), app.extensions["couvee"].database_connection():
            return callback(*args, **kwargs)

    bound.callback = run
    return bound


@click.group(cls=CouveeGroup)
@click.option("--log-level", default="INFO", show_default=True, help="DEBUG, INFO, WARNING or ERROR")
def main(log_level):
    """Couvée: self-hosted marketing automation.

    Configuration comes from COUVEE_* environment variables (see README).
    """
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int, help="Web server threads")
def serve(host, port, threads):
    """Run the web server, one worker and the scheduler (single machine)."""
    from .serve import serve as run

    try:
        run(host=host, port=port, threads=threads)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


@main.command()
@click.option("--queue", "queues", multiple=True,
              help="Queues to listen to (default: all, core's and those the plugins declare)")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty")
@click.option("--simple", is_flag=True, help="Run jobs in this process instead of forking one per job")
@click.option("--strict-priority", is_flag=True,
              help="Always take the first non-empty queue in order (default: serve the queues in turn)")
def worker(queues, burst, simple, strict_priority):
    """Run an RQ worker (with its scheduler for delayed jobs).

    The queues are served in turn (round robin), so a backlog in one of them
    (contact events, a big import) never holds back the others for more than
    one job; event drain jobs stop after about two seconds."""
    from rq.worker import DequeueStrategy

    from .queue import make_worker, queue_names
    from .runtime import Runtime

    runtime = Runtime(app=_app())
    known = queue_names(runtime.app.extensions["couvee"].host.discovered)
    chosen = queues or known
    unknown = set(chosen) - set(known)
    if unknown:
        raise click.ClickException(f"unknown queue(s): {', '.join(sorted(unknown))}; use {', '.join(known)}")
    strategy = DequeueStrategy.DEFAULT if strict_priority else DequeueStrategy.ROUND_ROBIN
    make_worker(runtime, chosen, simple=simple).work(burst=burst, with_scheduler=True, dequeue_strategy=strategy)


@main.command()
def cron():
    """Enqueue the periodic jobs of core and active plugins on schedule."""
    from .cron import run_cron
    from .runtime import Runtime

    run_cron(Runtime(app=_app()))


@main.command()
def migrate():
    """Apply pending migrations of core and of the active plugins."""
    app = _app()
    with app.app_context(), app.extensions["couvee"].database_connection():
        from .models import MigrationRecord

        for row in MigrationRecord.select().order_by(MigrationRecord.plugin, MigrationRecord.version):
            click.echo(f"{row.plugin:20} {row.version:4}  {row.name}")
    click.echo("Database is up to date.")


@main.group()
def translations():
    """Message catalogues: extract, update and compile (docs/i18n.md)."""


def _domains(plugin, path, every):
    from .i18n import catalogues

    if every:
        return catalogues.bundled_domains()
    try:
        return [catalogues.domain_named(plugin, path)]
    except LookupError as error:
        raise click.ClickException(str(error)) from None


_DOMAIN_OPTIONS = [
    click.option("--plugin", help="A bundled plugin's catalogue (default: core's)"),
    click.option("--path", type=click.Path(exists=True, file_okay=False),
                 help="Another plugin's package folder (its catalogue goes in <folder>/translations)"),
    click.option("--all", "every", is_flag=True, help="Core's and every bundled plugin's catalogue"),
]


def _domain_options(command):
    for option in reversed(_DOMAIN_OPTIONS):
        command = option(command)
    return command


@translations.command("extract")
@_domain_options
def translations_extract(plugin, path, every):
    """Write translations/<domain>.pot from the wrapped messages."""
    from .i18n import catalogues

    for domain in _domains(plugin, path, every):
        catalog = catalogues.write_template(domain)
        click.echo(f"{domain.template}: {len(catalog)} messages")


@translations.command("update")
@_domain_options
def translations_update(plugin, path, every):
    """Extract, then merge the .pot into each language's .po."""
    from .i18n import catalogues

    for domain in _domains(plugin, path, every):
        catalogues.write_template(domain)
        for po in catalogues.update(domain):
            left = catalogues.problems(domain, po.parent.parent.name)
            click.echo(f"{po}: {len(left['untranslated'])} untranslated, {len(left['fuzzy'])} fuzzy")


@translations.command("compile")
@_domain_options
def translations_compile(plugin, path, every):
    """Write .mo files (optional: the .po is read when no newer .mo exists)."""
    from .i18n import catalogues

    for domain in _domains(plugin, path, every):
        for mo in catalogues.compile_domain(domain):
            click.echo(str(mo))


@main.group()
def plugins():
    """List, enable or disable plugins."""


@plugins.command("list")
def plugins_list():
    from .models import PluginState

    app = _app()
    state = app.extensions["couvee"]
    with app.app_context(), state.database_connection():
        stored = {row.name: row.enabled for row in PluginState.select()}
    from .plugins.dependencies import required_by

    for name, info in sorted(state.host.discovered.items()):
        status = "active" if state.host.is_active(name) else ("enabled, failed" if stored.get(name) else "inactive")
        problem = "; ".join(info.problems) or state.host.load_errors.get(name, "")
        click.echo(f"{name:20} {info.version:10} {status:16} {info.source:10} {problem}".rstrip())
        if info.requires:
            click.echo(f"{'':20} requires: {', '.join(str(requirement) for requirement in info.requires)}")
        needing = required_by(name, state.host.discovered)
        if needing:
            click.echo(f"{'':20} required by: {', '.join(needing)}")


def _lifecycle(action: str, name: str, hint: str, **options) -> list[str]:
    from flask_babel import force_locale

    from .audit import CLI
    from .plugins import lifecycle

    app = _app()
    state = app.extensions["couvee"]
    with app.app_context(), state.database_connection(), force_locale("en"):  # the CLI speaks English
        try:
            return getattr(lifecycle, action)(state, name, actor=CLI, **options)
        except lifecycle.NeedsOthers as error:
            raise click.ClickException(f"{error} (or run with {hint})") from None
        except lifecycle.PluginError as error:
            raise click.ClickException(str(error)) from None


@plugins.command("enable")
@click.argument("name")
@click.option("--with-requirements", is_flag=True, help="Also activate the inactive plugins it requires, first.")
def plugins_enable(name, with_requirements):
    """Activate a plugin (runs its migrations)."""
    done = _lifecycle("activate", name, "--with-requirements", with_requirements=with_requirements)
    click.echo(f"{', '.join(done)} {'is' if len(done) == 1 else 'are'} active.")


@plugins.command("disable")
@click.argument("name")
@click.option("--with-dependents", is_flag=True, help="Also deactivate the active plugins that require it, first.")
def plugins_disable(name, with_dependents):
    """Deactivate a plugin (its data is kept)."""
    done = _lifecycle("deactivate", name, "--with-dependents", with_dependents=with_dependents)
    click.echo(f"{', '.join(done)} {'is' if len(done) == 1 else 'are'} inactive.")


@main.command()
@click.option("--email", prompt=True)
@click.option("--name", default="")
@click.option("--role", type=click.Choice(["admin", "marketer", "sales"]), default="admin", show_default=True)
@click.password_option()
def createuser(email, name, role, password):
    """Create a user (an administrator by default)."""
    from . import auth

    app = _app()
    with app.app_context(), app.extensions["couvee"].database_connection():
        try:
            user = auth.create_user(email, password, role=role, name=name)
        except auth.AuthError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"Created {user.role} {user.email}.")


if __name__ == "__main__":
    main()
