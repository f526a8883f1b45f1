"""The README's first steps, run as written in a fresh directory: start the server the way the
README says, run its shell block, and get the data back. The one change is the port, since
8000 may be taken where the tests run."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from server_process import ServerProcess, start_server

README = Path(__file__).resolve().parents[2] / "README.md"

pytestmark = pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("bash") is None, reason="needs curl and bash"
)


def first_steps() -> str:
    """The shell block of the README's "First steps" section."""
    text = README.read_text()
    section = text.split("## First steps", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```sh\n(.*?)```", section, re.S)
    assert found, "the README's first steps have no sh block"
    return found.group(1)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    running = start_server(tmp_path)
    try:
        yield running
    finally:
        running.kill()


def test_the_readme_first_steps_work_as_written(server: ServerProcess, tmp_path: Path) -> None:
    script = first_steps().replace("localhost:8000", server.url.removeprefix("http://"))
    # Everything the block sets, printed after it, so that the test can follow up.
    script = "set -euo pipefail\n" + script + '\necho\necho "KEY=$KEY"\n'
    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert '"status":"ok"' in out.replace(" ", ""), out
    key = re.search(r"^KEY=(\S+)$", out, re.M)
    assert key and key.group(1).startswith("fc_"), out

    # Step 3 stored both samples; step 4 printed the point pushed in step 3.
    assert '"accepted":2' in out, out
    assert re.search(
        r'"service":"checkout","metric":"latency_p99_ms".*?"points":\[\[[0-9.]+,123\.4\]\]', out
    )
    # Step 5: the organisation's health comes from the metrics that were sent.
    assert '"summary":"Acme health is' in out, out

    # And the key kept in $KEY reads the same data outside the script.
    headers = {"Authorization": f"Bearer {key.group(1)}"}
    services = httpx.get(f"{server.url}/api/v1/health/services", headers=headers).json()
    checkout = next(s for s in services["services"] if s["service"] == "checkout")
    assert checkout["score"] is not None
