"""The `browser` marker: `-m "not browser"` runs the fast suite without Chromium."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _collected(*args: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "-W", "error::pytest.PytestUnknownMarkWarning", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode in (0, 5), result.stdout + result.stderr
    return {line for line in result.stdout.splitlines() if "::" in line}


def test_browser_marker_selects_the_chromium_tests_and_not_browser_skips_them():
    files = ("tests/test_gdpr_banner.py", "tests/test_tracking_browser.py")
    everything = _collected(*files)
    browser = _collected("-m", "browser", *files)
    fast = _collected("-m", "not browser", *files)

    banner = "tests/test_gdpr_banner.py::test_browser_banner_blocks_tracking_until_accepted_and_refusal_stores_no_identifier"
    assert banner in browser and banner not in fast
    # every test of the browser-only file is marked (they use the `page` fixture)
    assert {t for t in everything if t.startswith("tests/test_tracking_browser.py")} <= browser
    # the banner file's WebTest tests stay in the fast suite
    assert {t for t in everything if t.startswith("tests/test_gdpr_banner.py")} - {banner} <= fast
    assert fast and browser.isdisjoint(fast) and browser | fast == everything


def test_browser_marker_is_registered():
    # an unregistered marker would make `-m browser` warn (an error here, see -W above)
    assert _collected("--strict-markers", "-m", "browser", "tests/test_gdpr_banner.py")
