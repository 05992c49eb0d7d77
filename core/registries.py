"""Registries: typed collections filled by the ``register_*`` hooks.

A registry refuses an object of the wrong type and a second object with an id
already taken, naming both plugins, so two plugins can never silently replace
each other's field type or action.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator

from . import extension
from .event_kinds import EventKind


class RegistryError(Exception):
    pass


class Registry:
    def __init__(self, name: str, item_type: type, key: Callable[[Any], str] = lambda item: item.id):
        self.name = name
        self.item_type = item_type
        self._key = key
        self._items: dict[str, Any] = {}
        self._owners: dict[str, str] = {}

    def add(self, item, plugin: str) -> None:
        if not isinstance(item, self.item_type):
            raise RegistryError(
                f"{self.name}: plugin {plugin!r} returned {type(item).__name__}, "
                f"expected {self.item_type.__name__}"
            )
        key = self._key(item)
        if not key:
            raise RegistryError(f"{self.name}: plugin {plugin!r} returned an item without an id")
        if key in self._items:
            raise RegistryError(
                f"{self.name}: id {key!r} from plugin {plugin!r} is already registered by "
                f"plugin {self._owners[key]!r}"
            )
        self._items[key] = item
        self._owners[key] = plugin

    def get(self, key: str, default=None):
        return self._items.get(key, default)

    def __getitem__(self, key: str):
        try:
            return self._items[key]
        except KeyError:
            raise KeyError(f"{self.name}: no {key!r} registered (is its plugin active?)") from None

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def owner(self, key: str) -> str | None:
        return self._owners.get(key)

    def ids(self) -> list[str]:
        return list(self._items)


class EventKindRegistry(Registry):
    """Event kinds, each stamped with the plugin that registered it."""

    def __init__(self):
        super().__init__("event kinds", EventKind)

    def add(self, item, plugin: str) -> None:
        if isinstance(item, EventKind):
            item = replace(item, owner=plugin)
        super().add(item, plugin)


def _model_key(model) -> str:
    return model._meta.table_name


@dataclass
class Registries:
    event_kinds: Registry = field(default_factory=EventKindRegistry)
    field_types: Registry = field(default_factory=lambda: Registry("field types", extension.FieldType))
    trigger_types: Registry = field(default_factory=lambda: Registry("trigger types", extension.TriggerType))
    actions: Registry = field(default_factory=lambda: Registry("actions", extension.Action))
    channels: Registry = field(default_factory=lambda: Registry("channels", extension.SendChannel))
    segment_filters: Registry = field(
        default_factory=lambda: Registry("segment filters", extension.SegmentFilter)
    )
    audience_sources: Registry = field(
        default_factory=lambda: Registry("audience sources", extension.AudienceSource)
    )
    periodic_jobs: Registry = field(default_factory=lambda: Registry("periodic jobs", extension.PeriodicJob))
    admin_menu: Registry = field(default_factory=lambda: Registry("admin menu", extension.AdminMenuItem))
    settings: Registry = field(default_factory=lambda: Registry("settings", extension.SettingsGroup))
    commands: Registry = field(default_factory=lambda: Registry("commands", extension.Command))
    setup_steps: Registry = field(default_factory=lambda: Registry("setup steps", extension.SetupStep))
    models: Registry = field(default_factory=lambda: Registry("models", type, key=_model_key))

    #: hook name -> registry attribute, in filling order: event kinds first,
    #: so the hooks after them can derive their objects from ``event_kinds``
    HOOKS = {
        "register_event_kinds": "event_kinds",
        "register_field_types": "field_types",
        "register_trigger_types": "trigger_types",
        "register_actions": "actions",
        "register_channels": "channels",
        "register_segment_filters": "segment_filters",
        "register_audience_sources": "audience_sources",
        "register_periodic_jobs": "periodic_jobs",
        "register_admin_menu": "admin_menu",
        "register_settings": "settings",
        "register_commands": "commands",
        "register_setup_steps": "setup_steps",
        "register_models": "models",
    }
