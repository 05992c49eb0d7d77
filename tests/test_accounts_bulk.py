"""The accounts' last interaction after a bulk of events (issue 22, part 2):
the drain notes each interaction and writes the accounts once per batch
(``core.batch_collect``), so 10,000 events do not make 10,000 UPDATEs of the
accounts table, and the value is the latest interaction of each account."""
from __future__ import annotations

import datetime as dt
import logging

from core import batch_collect, emit_many
from core.dispatch.memo import batch_scope
from core.models import Contact, utcnow
from plugins.accounts import clean_account, create_account
from plugins.accounts.models import Account
from plugins.accounts.score import touch_last_interactions


class Statements(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.updates = 0

    def emit(self, record):
        sql = record.msg[0] if isinstance(record.msg, tuple) else str(record.msg)
        if isinstance(sql, str) and sql.lstrip().upper().startswith("UPDATE") and "accounts_account" in sql:
            self.updates += 1


def test_ten_thousand_events_update_the_accounts_once_per_batch_with_the_right_value(ctx, run_jobs):
    now = utcnow().replace(microsecond=0)
    Contact.insert_many([{"email": f"p{n}@company{n % 10}.fr", "created_at": now, "updated_at": now}
                         for n in range(200)]).execute()
    accounts = [create_account(clean_account({"name": f"Company {k}", "domain": f"company{k}.fr"}))
                for k in range(10)]
    ids = [row.id for row in Contact.select(Contact.id).order_by(Contact.id)]
    run_jobs()
    start = now - dt.timedelta(days=30)
    rows, expected = [], {}
    for n in range(10_000):
        contact_id = ids[n % 200]
        when = start + dt.timedelta(minutes=(n * 7919) % 40_000)  # not in order
        rows.append({"contact": contact_id, "kind": "page_visited", "data": {"url": "https://x.example/"},
                     "created_at": when})
        account = (contact_id - ids[0]) % 10
        expected[account] = max(expected.get(account, when), when)
    emit_many(rows)
    Account.update(last_interaction_at=None).execute()  # what the drain's hook alone writes is checked

    counter = Statements()
    logger = logging.getLogger("peewee")
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        run_jobs()
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)
    assert 0 < counter.updates <= 10_000 // 100 + 10
    for k, account in enumerate(accounts):
        assert Account.get_by_id(account.id).last_interaction_at == expected[k], k


def test_the_flush_keeps_the_latest_value_and_runs_at_once_outside_a_batch(ctx):
    acme = create_account(clean_account({"name": "Acme", "domain": "acme.fr"}))
    now = utcnow().replace(microsecond=0)
    Contact.insert(email="ada@acme.fr", created_at=now, updated_at=now).execute()
    from plugins.accounts.linking import link_existing_contacts

    link_existing_contacts(acme)
    ada = Contact.get(Contact.email == "ada@acme.fr")
    assert touch_last_interactions([(ada.id, now), (ada.id, now - dt.timedelta(hours=1))]) == 1
    assert touch_last_interactions([(ada.id, now - dt.timedelta(days=1))]) == 0  # older: kept
    assert Account.get_by_id(acme.id).last_interaction_at == now

    seen = []
    batch_collect("test.outside", 1, seen.append)
    assert seen == [[1]]
    with batch_scope():
        batch_collect("test.inside", 1, seen.append)
        batch_collect("test.inside", 2, seen.append)
        assert seen == [[1]]
    assert seen == [[1], [1, 2]]

    def broken(items):
        raise RuntimeError("disk full")

    with batch_scope():  # a failing flush is logged; the batch is not delivered again for it
        batch_collect("test.broken", 1, broken)
        batch_collect("test.after", 3, seen.append)
    assert seen[-1] == [3]
