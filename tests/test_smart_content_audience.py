"""Smart content's programme page shows its audience check (issue 19): who may
receive its emails today and who the consent gate skips, by reason."""
from __future__ import annotations

from plugins.segments import Segment
from tests.test_audience_check import require_consent, subscriber

from plugins.email import standing


def test_the_programme_page_counts_who_may_receive_its_emails(admin, ctx, smtp_sink):
    require_consent(smtp_sink)
    members, others = Segment.create(name="Members", kind="static"), Segment.create(name="Others", kind="static")
    subscriber("ada@example.com", members)
    subscriber("bob@example.com", members, consent=False)
    standing.unsubscribe(subscriber("cyd@example.com", members), None)
    subscriber("out@example.com", others)
    page = admin.get("/admin/smart-content/programme")
    # no segment chosen: every contact with an address
    assert "Audience now: <strong>2</strong> may receive its emails, <strong>2</strong> skipped:" in page.text
    assert "no consent for email_marketing (1)" in page.text and "unsubscribed (1)" in page.text
    form = page.forms["programme-form"]
    form["segment_ids"] = [str(members.id)]
    page = form.submit().follow()
    assert "Audience now: <strong>1</strong> may receive its emails, <strong>2</strong> skipped:" in page.text
    assert "unsubscribed (1)" in page.text and "Nobody would receive" not in page.text
    unreachable = Segment.create(name="Never asked", kind="static")
    subscriber("dee@example.com", unreachable, consent=False)
    form = admin.get("/admin/smart-content/programme").forms["programme-form"]
    form["segment_ids"] = [str(unreachable.id)]
    page = form.submit().follow()
    assert "<strong>0</strong> may receive its emails, <strong>1</strong> skipped:" in page.text
    assert "Nobody would receive its emails today." in page.text
