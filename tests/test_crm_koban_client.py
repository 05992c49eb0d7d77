"""Contract tests of the Koban client against the local fake Koban server:
every endpoint the sync uses, its envelope, and every failure mode (auth,
Success:false, per-object errors, 404, HTML bodies, 429/5xx with backoff,
network errors). Nothing reaches the internet."""
from __future__ import annotations

import pytest

from plugins.crm_koban_sync.client import (
    MAX_BATCH, KobanAuthError, KobanBadRequest, KobanClient, KobanError, KobanNotFound, KobanUnavailable,
)

from .conftest import free_port
from .fake_koban import API_KEY, USER_KEY, koban  # noqa: F401  (fixture)


class Pauses(list):
    """Records the pauses the client asks for instead of sleeping."""

    def __call__(self, seconds):
        self.append(seconds)


@pytest.fixture
def pauses():
    return Pauses()


@pytest.fixture
def client(koban, pauses):
    return KobanClient(API_KEY, USER_KEY, base_url=koban.url, timeout=5, sleep=pauses)


def test_every_call_carries_both_auth_headers(client, koban):
    client.contacts_updated(since=0)
    request = koban.api.requests[-1]
    assert request.headers == {"X-ncApi": API_KEY, "X-ncUser": USER_KEY}


def test_get_updated_pages_with_s_and_l_and_reads_the_length_list_envelope(client, koban):
    for n in range(5):
        koban.api.add_contact(EMail=f"p{n}@example.com", DUpdated=1_700_000_000 + n)
    total, first = client.contacts_updated(since=1_700_000_001, start=0, length=2)
    _, second = client.contacts_updated(since=1_700_000_001, start=2, length=2)
    assert total == 4
    assert [c["EMail"] for c in first + second] == [f"p{n}@example.com" for n in (1, 2, 3, 4)]
    assert koban.api.requests[-1].query == {"updated": "1700000001", "s": "2", "l": "2"}


def test_get_one_returns_the_contact_and_404_is_a_not_found_error(client, koban):
    guid = koban.api.add_contact(EMail="one@example.com", FirstName="Une")["Guid"]
    assert client.contact(guid)["FirstName"] == "Une"
    with pytest.raises(KobanNotFound) as error:
        client.contact("ffffffffffffffffffffffff")
    assert "HTTP 404" in str(error.value) and "No contact with id" in str(error.value)


def test_post_many_upserts_on_extcode_and_returns_guids(client, koban):
    result = client.post_contacts([{"Extcode": "1", "EMail": "a@example.com"}, {"Extcode": "2", "EMail": "b@example.com"}])
    assert len(result.guids) == 2 and all(result.guids) and not result.errors
    again = client.post_contacts([{"Extcode": "1", "FirstName": "Ann"}])
    assert again.guids == result.guids[:1]
    assert koban.api.contacts[result.guids[0]]["FirstName"] == "Ann"
    assert koban.api.requests[-1].query == {"uniqueproperty": "Extcode", "thirduniqueproperty": "Extcode"}


def test_post_many_matches_on_email_when_asked(client, koban):
    guid = koban.api.add_contact(EMail="known@example.com")["Guid"]
    result = client.post_contacts([{"Extcode": "9", "EMail": "known@example.com"}], unique="Email")
    assert result.guids == [guid]


def test_post_many_refuses_more_than_100_objects_before_calling_koban(client, koban):
    with pytest.raises(ValueError, match="at most 100"):
        client.post_contacts([{"Extcode": str(n)} for n in range(MAX_BATCH + 1)])
    assert koban.api.requests == []


def test_the_fake_enforces_the_100_limit_too(client, koban):
    with pytest.raises(KobanBadRequest, match="maximum of 100"):
        client._request("POST", "ncContact/PostMany", {"uniqueproperty": "Extcode"},
                        json_body=[{"Extcode": str(n)} for n in range(101)])


def test_per_object_errors_are_reported_by_position_and_the_rest_is_saved(client, koban):
    result = client.post_contacts([{"Extcode": "1", "EMail": "ok@example.com"},
                                   {"Extcode": "2", "EMail": "ok2@example.com", "Phone": "call me"}])
    assert result.guids[0] and result.guids[1] is None
    assert result.errors == {1: "Phone call me is not a valid phone number"}
    assert koban.api.by_extcode("1") is not None and koban.api.by_extcode("2") is None


def test_success_false_without_object_errors_is_a_clear_error(client, koban):
    koban.api.fail("ncContact/PostMany", 200, '{"Success": false, "Message": "Quota exceeded for this account"}')
    with pytest.raises(KobanBadRequest, match="Quota exceeded for this account"):
        client.post_contacts([{"Extcode": "1"}])


def test_refused_keys_give_an_auth_error_that_says_what_to_check(koban, pauses):
    bad = KobanClient("wrong", USER_KEY, base_url=koban.url, sleep=pauses)
    with pytest.raises(KobanAuthError) as error:
        bad.contacts_updated(since=0)
    assert "HTTP 401" in str(error.value) and "Parameters > API" in str(error.value)
    assert len(koban.api.requests) == 1 and pauses == []  # never retried


def test_missing_keys_or_a_bad_url_are_refused_before_any_call():
    with pytest.raises(KobanAuthError, match="both required"):
        KobanClient("", "x")
    with pytest.raises(KobanError, match="must start with https://"):
        KobanClient("a", "b", base_url="app-koban.com/api/v1")


def test_an_html_page_is_explained_not_parsed(client, koban):
    koban.api.fail("ncContact/GetUpdated", 200, "<!DOCTYPE html><html><head><title>Maintenance en cours</title></head></html>",
                   content_type="text/html")
    with pytest.raises(KobanBadRequest) as error:
        client.contacts_updated(since=0)
    assert "HTML page instead of JSON" in str(error.value) and "Maintenance en cours" in str(error.value)


def test_a_wrong_base_url_answering_an_html_404_says_to_check_the_url(koban, pauses):
    wrong = KobanClient(API_KEY, USER_KEY, base_url=koban.url.replace("/api/v1", "/v1"), sleep=pauses)
    with pytest.raises(KobanBadRequest, match="Is the base URL right"):
        wrong.contacts_updated(since=0)


def test_non_json_text_is_a_clear_error(client, koban):
    koban.api.fail("ncContact/GetOne", 200, "OK", content_type="text/plain")
    with pytest.raises(KobanBadRequest, match="not JSON"):
        client.contact("x")


def test_5xx_is_retried_with_growing_pauses_then_succeeds(client, koban, pauses):
    koban.api.fail("ncContact/GetUpdated", 503, "<html><title>Service Unavailable</title></html>",
                   content_type="text/html", times=2)
    total, _ = client.contacts_updated(since=0)
    assert total == 0
    assert pauses == [0.5, 1.0]
    assert len(koban.api.calls("ncContact/GetUpdated")) == 3


def test_429_honours_retry_after(client, koban, pauses):
    koban.api.fail("ncContact/PostMany", 429, '{"Message": "Too many requests"}', retry_after="7")
    client.post_contacts([{"Extcode": "1"}])
    assert pauses == [7.0]


def test_retry_after_is_capped(client, koban, pauses):
    koban.api.fail("ncEMailing/Unsubscribe", 429, "{}", retry_after="3600")
    client.unsubscribe("x@example.com")
    assert pauses == [10.0]


def test_persistent_5xx_becomes_unavailable_after_the_attempts(client, koban, pauses):
    koban.api.fail("ncContact/GetUpdated", 500, '{"Message": "Object reference not set"}', times=5)
    with pytest.raises(KobanUnavailable) as error:
        client.contacts_updated(since=0)
    assert "HTTP 500" in str(error.value) and "Object reference not set" in str(error.value)
    assert len(koban.api.calls("ncContact/GetUpdated")) == 3


def test_nobody_listening_is_unavailable(pauses):
    client = KobanClient(API_KEY, USER_KEY, base_url=f"http://127.0.0.1:{free_port()}/api/v1", timeout=2, sleep=pauses)
    with pytest.raises(KobanUnavailable, match="Could not reach Koban"):
        client.contacts_updated(since=0)


def test_check_reports_the_account_size(client, koban):
    koban.api.add_contact(EMail="a@example.com")
    assert client.check() == f"Connected to Koban at {koban.url}: the account holds 1 contact(s)."


def test_thirds_post_many_get_updated_get_one_by_key_and_status(client, koban):
    result = client.post_thirds([{"Extcode": "T1", "Label": "ACME", "EMail": "contact@acme.test", "Status": "CLI"},
                                 {"Extcode": "T2", "Label": "Globex", "Status": "PROS"}])
    assert all(result.guids)
    total, page = client.thirds_updated(since=0)
    assert total == 2 and {t["Label"] for t in page} == {"ACME", "Globex"}
    assert client.third_by_key("Email", "contact@acme.test")["Label"] == "ACME"
    assert client.third_by_key("Email", "nobody@acme.test") is None
    assert [t["Label"] for t in client.thirds_with_status("CLI")] == ["ACME"]
    assert koban.api.requests[-1].query == {"status": "CLI"}


def test_unsubscribe_posts_the_email_form_field(client, koban):
    koban.api.add_contact(EMail="leave@example.com")
    client.unsubscribe("leave@example.com")
    request = koban.api.calls("ncEMailing/Unsubscribe")[0]
    assert request.method == "POST" and request.body == {"email": "leave@example.com"}
    assert koban.api.unsubscribed == ["leave@example.com"]
