"""Benchmark: personalised messages from one MJML newsletter, our real path
vs plain Jinja rendering of the same final HTML.

    python bench/email_render.py            # 1 000 messages
    python bench/email_render.py --quick    # 300 messages

A fresh SQLite instance gets the email settings, N contacts and one MJML
newsletter (two columns, an image, a button, three links; first name, last
name and email printed). Then, in the same process:

- **project**: what a send job does: ``newsletter_renderer(prerender=True)``
  (the MJML rendered once by mrml, the locked footer, the sandboxed
  template compiled, links recorded) built once, then per recipient
  ``renderer.urls`` + ``renderer.render`` (the contact's values, the signed
  view/unsubscribe/open/click links, the HTML and text parts); the time per
  message includes building the renderer;
- **baseline** (the ratio's denominator): the same final HTML and text —
  mrml's output, footer, CSS already inlined, links already rewritten — as
  two plain ``jinja2`` templates (HTML autoescaped, text not), given per
  recipient the same values and the same signed links (``renderer.urls``
  and ``renderer.clicks``, so signing is not counted as our overhead). Both
  must give byte-identical messages for every recipient, which is checked;
- for context: the full rendering of each recipient (``render_full``: the
  sandboxed template, link rewriting and CSS inlining per message), what
  the project falls back to when a value needs it, and the cost of one mrml
  rendering of the document.

Rounds alternate (project, baseline) three times; each side keeps its best.
Last line: ``email_render: ratio=<project ms / baseline ms> unit=time baseline=jinja ...``.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CONTENT = """<mjml>
  <mj-head><mj-attributes><mj-all font-family="Arial, Helvetica, sans-serif" /></mj-attributes>
    <mj-style>.lead { font-size: 18px; }</mj-style></mj-head>
  <mj-body background-color="#f4f4f5">
    <mj-section background-color="#ffffff">
      <mj-column>
        <mj-text css-class="lead">Hello {{ first_name or "there" }} {{ last_name }},</mj-text>
        <mj-text>Our spring collection is here. This email was sent to {{ email }}.</mj-text>
        <mj-button href="https://shop.example/spring">See the collection</mj-button>
      </mj-column>
    </mj-section>
    <mj-section background-color="#ffffff">
      <mj-column><mj-image src="https://cdn.example/spring.png" alt="Spring collection" /></mj-column>
      <mj-column><mj-text>Read <a href="https://blog.example/spring">the story</a> and
        <a href="https://shop.example/stores">find a store</a>.</mj-text></mj-column>
    </mj-section>
  </mj-body>
</mjml>"""
ROUNDS = 3


def make_app(folder: Path):
    from core.app import create_app

    return create_app({
        "instance_path": folder / "instance", "database_url": f"sqlite:///{folder / 'render.db'}",
        "redis_url": None, "secret_key": "bench-secret-key-0123456789", "base_url": "https://m.bench.test",
        "testing": True,
    })


def prepare(count: int):
    from core.models import Contact, SettingValue, utcnow
    from plugins.email.models import Newsletter

    settings = {"from_email": "news@bench.test", "from_name": "Couvée News", "rate_per_second": 0}
    rows = [{"group": "email", "key": k, "value": v} for k, v in settings.items()]
    rows += [{"group": "general", "key": "company_name", "value": "Bench SAS"},
             {"group": "general", "key": "company_address", "value": "1 rue du Test, Paris"}]
    SettingValue.insert_many(rows).execute()
    now = utcnow()
    for start in range(0, count, 500):
        Contact.insert_many([{"email": f"r{i}@example.com", "first_name": f"Reader{i}", "last_name": f"Last{i % 97}",
                              "created_at": now, "updated_at": now}
                             for i in range(start, min(count, start + 500))]).execute()
    newsletter = Newsletter.create(name="Spring", subject='Spring for {{ first_name or "you" }}', content=CONTENT,
                                   content_format="mjml", utm={"source": "newsletter", "campaign": "spring"})
    return newsletter, list(Contact.select().order_by(Contact.id))


def project_round(newsletter, contacts):
    """``(seconds, messages)`` through the real path (renderer built inside the timing)."""
    from plugins.email.config import load_config
    from plugins.email.newsletters import newsletter_renderer

    started = time.perf_counter()
    renderer = newsletter_renderer(newsletter, load_config(), prerender=True)
    out = []
    for send_id, contact in enumerate(contacts, start=1):
        out.append(renderer.render(send_id, contact, renderer.urls(send_id)))
    seconds = time.perf_counter() - started
    assert renderer.fast is not None, "the prerendered path was dropped"
    return seconds, out, renderer


def baseline_templates(renderer):
    """The renderer's final document and text as plain Jinja templates: each
    value marker, layout placeholder and click placeholder becomes a variable."""
    import jinja2

    from plugins.email import prerendered

    fast = renderer.fast
    names = {prerendered.marker(i): f"v{i}" for i in range(len(fast.expressions))}
    names.update({raw: name for name, raw in fast.layout_markers.items()})

    def to_jinja(source: str) -> str:
        for raw, name in names.items():
            source = source.replace(raw, "{{ %s }}" % name)
        return re.sub(r"CVCLICK(\d+)X0PLACEHOLDER", r"{{ click(\1) }}", source)

    html_env = jinja2.Environment(autoescape=True, keep_trailing_newline=True)
    text_env = jinja2.Environment(autoescape=False, keep_trailing_newline=True)
    return html_env.from_string(to_jinja(fast.html)), text_env.from_string(to_jinja(fast.text))


def baseline_round(renderer, html_t, text_t, contacts):
    """``(seconds, messages)``: the same values and signed links, plain Jinja."""
    started = time.perf_counter()
    out = []
    for send_id, contact in enumerate(contacts, start=1):
        urls = renderer.urls(send_id)
        click = renderer.clicks(send_id)
        first = contact.first_name or ""
        values = {"v0": first or "there", "v1": contact.last_name or "", "v2": contact.email or "",
                  "subject": f"Spring for {first or 'you'}", "view": urls["view"],
                  "unsubscribe": urls["unsubscribe"], "pixel": urls["open"], "click": click}
        out.append((values["subject"], html_t.render(values), text_t.render(values)))
    return time.perf_counter() - started, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 messages")
    parser.add_argument("--messages", type=int, default=None)
    args = parser.parse_args()
    count = args.messages or (300 if args.quick else 1000)

    from plugins.email import mjml

    folder = Path(tempfile.mkdtemp(prefix="couvee-bench-render-"))
    app = make_app(folder)
    state = app.extensions["couvee"]
    try:
        with app.app_context(), state.database_connection():
            newsletter, contacts = prepare(count)
            project_best = baseline_best = None
            for _ in range(ROUNDS):
                mjml._cache.clear()  # each project round pays its mrml rendering
                seconds, project_out, renderer = project_round(newsletter, contacts)
                project_best = seconds if project_best is None else min(project_best, seconds)
                html_t, text_t = baseline_templates(renderer)
                seconds, baseline_out = baseline_round(renderer, html_t, text_t, contacts)
                baseline_best = seconds if baseline_best is None else min(baseline_best, seconds)
            different = sum(1 for ours, theirs in zip(project_out, baseline_out)
                            if (ours.subject, ours.html, ours.text) != theirs)
            assert different == 0, f"{different} messages differ between the project and the baseline"
            print(f"check   : the project and the baseline give the same {count:,} messages (subject, HTML, text)")
            sample = project_out[0].html
            assert "mj-column-per-50" in sample and "Hello Reader0 Last0," in sample and "/e/u/" in sample

            started = time.perf_counter()
            for send_id, contact in enumerate(contacts, start=1):
                urls = renderer.urls(send_id)
                renderer.render_full(send_id, contact, urls, renderer.clicks(send_id))
            full = time.perf_counter() - started
            mjml._cache.clear()
            started = time.perf_counter()
            mjml.to_html(CONTENT)
            mrml_ms = (time.perf_counter() - started) * 1000

            project_ms, baseline_ms, full_ms = (1000 * s / count for s in (project_best, baseline_best, full))
            print(f"project : {count:,} messages in {project_best:.3f} s = {project_ms:.3f} ms/message "
                  f"(best of {ROUNDS}, renderer built inside)")
            print(f"baseline: {count:,} messages in {baseline_best:.3f} s = {baseline_ms:.3f} ms/message "
                  f"(plain Jinja, same values and signed links)")
            print(f"full    : {full_ms:.3f} ms/message rendering each recipient in full (no prerendering)")
            print(f"mrml    : {mrml_ms:.2f} ms for one rendering of the MJML document")
            load_avg = os.getloadavg()
            print("load average: " + " ".join(f"{value:.2f}" for value in load_avg))
            print(f"email_render: ratio={project_ms / baseline_ms:.2f} unit=time baseline=jinja messages={count} "
                  f"project_ms={project_ms:.3f} baseline_ms={baseline_ms:.3f} full_ms={full_ms:.3f} "
                  f"mrml_ms={mrml_ms:.2f} rounds={ROUNDS} load1={load_avg[0]:.2f}")
    finally:
        state.redis_handle.release()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
