"""The plugin's declared settings and the Koban client built from them.

The keys may come from the environment (``COUVEE_KOBAN_API_KEY``,
``COUVEE_KOBAN_USER_KEY``, ``COUVEE_KOBAN_BASE_URL``): the settings page then
shows them read-only and never stores them.
"""
from __future__ import annotations

from core import Setting, SettingsGroup, get_setting, translation_domain

from .client import DEFAULT_BASE_URL, KobanClient

_l = translation_domain(__name__).lazy_gettext

GROUP = "crm_koban"
#: the ``source`` written on every change this plugin makes (loop prevention)
SOURCE = "crm_koban"


def settings_group() -> SettingsGroup:
    return SettingsGroup(GROUP, _l("Koban CRM"), [
        Setting("enabled", _l("Sync with Koban"), kind="bool", default=False,
                help=_l("Off: nothing is sent to or read from Koban (changes made meanwhile are not queued).")),
        Setting("base_url", _l("API base URL"), default=DEFAULT_BASE_URL, env="COUVEE_KOBAN_BASE_URL",
                help=_l("Koban's production API is https://app-koban.com/api/v1.")),
        Setting("api_key", _l("API key (X-ncApi)"), kind="password", secret=True, env="COUVEE_KOBAN_API_KEY",
                help=_l("Koban: Parameters > API.")),
        Setting("user_key", _l("User key (X-ncUser)"), kind="password", secret=True, env="COUVEE_KOBAN_USER_KEY",
                help=_l("The key of the Koban user the sync acts as.")),
        Setting("timeout", _l("Timeout (seconds)"), kind="int", default=20),
        Setting("page_size", _l("Pull page size"), kind="int", default=100,
                help=_l("Contacts asked per GetUpdated page (1–100).")),
        Setting("status_source", _l("Customer status comes from"), kind="choice", default="contact",
                choices=[("contact", _l("The contact's Status")),
                         ("account", _l("The account's status (ncThird/GetStatus)"))]),
        Setting("account_statuses", _l("Account statuses to follow"), default="PROS,CLI,PERDU",
                help=_l("Comma-separated status codes asked with ncThird/GetStatus when the status comes from the "
                        "account.")),
        Setting("account_status_codes", _l("Account status codes"), default="prospect=PROS, customer=CLI, former=ANC",
                help=_l("Each account status here and its Koban status code (ncThird Status), comma-separated: "
                        "prospect=…, customer=…, former=…. Used by the account sync both ways.")),
        Setting("lost_statuses", _l("Statuses meaning “opportunity lost”"), default="PERDU,LOST",
                help=_l("Comma-separated; reaching one emits crm_opportunity_lost (e.g. to start a nurture "
                        "series).")),
        Setting("contact_url", _l("Link to a Koban contact"), default="",
                help=_l("Optional URL with {guid}, shown on the contact page, e.g. https://app-koban.com/…/{guid}")),
    ])


def setting(key: str):
    return get_setting(GROUP, key)


def is_enabled() -> bool:
    return bool(setting("enabled"))


def is_configured() -> bool:
    return bool(setting("api_key")) and bool(setting("user_key"))


def codes(key: str) -> list[str]:
    """A comma-separated codes setting as a list (upper-cased, no blanks)."""
    return [code.strip().upper() for code in str(setting(key) or "").split(",") if code.strip()]


def page_size() -> int:
    return min(100, max(1, int(setting("page_size") or 100)))


def make_client(**overrides) -> KobanClient:
    """A client for the configured account (raises KobanError when the keys
    or the URL are missing or malformed)."""
    options = {"base_url": setting("base_url") or DEFAULT_BASE_URL, "timeout": float(setting("timeout") or 20)}
    options.update(overrides)
    return KobanClient(setting("api_key") or "", setting("user_key") or "", **options)
