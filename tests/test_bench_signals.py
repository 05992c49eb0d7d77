"""``bench/workflow_latency.py`` stops on SIGTERM, with everything it started
(issue 15 item 16: its in-process RQ worker took the signal over and the
benchmark went on)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in command:
                found.append(command)
    return found


def test_sigterm_during_the_in_process_burst_stops_the_benchmark_and_cleans_up(tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path), PYTHONUNBUFFERED="1")
    env.pop("COUVEE_DATABASE_URL", None)
    env.pop("COUVEE_REDIS_URL", None)
    bench = subprocess.Popen([sys.executable, str(ROOT / "bench" / "workflow_latency.py"), "--quick"], cwd=ROOT,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output = []
        for line in bench.stdout:
            output.append(line)
            if line.startswith("throughput:"):  # the in-process worker is about to run the queues
                break
        else:
            raise AssertionError("the benchmark ended before its throughput phase:\n" + "".join(output))
        bench.send_signal(signal.SIGTERM)
        rest, _ = bench.communicate(timeout=120)
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()
    assert bench.returncode == 128 + signal.SIGTERM, "".join(output) + rest
    assert "workflow_latency: ratio=" not in rest
    assert not list(tmp_path.glob("couvee-bench-wf-*")), "the temporary folder was left behind"
    assert processes_mentioning(str(tmp_path)) == [], "a redis-server or worker was left running"
