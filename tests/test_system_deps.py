"""`scripts/system-deps.sh`, which `make test` and CI run first: it installs the missing Debian
packages as root, and otherwise names the exact command and fails. Run against stand-in
commands on a PATH of its own, so nothing is installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "system-deps.sh"
BASH = shutil.which("bash")
GREP = shutil.which("grep")
ALL = [
    "chromium",
    "nginx",
    "pdftoppm",
    "prometheus",
    "prometheus-alertmanager",
    "victoria-metrics",
]

pytestmark = pytest.mark.skipif(BASH is None or GREP is None, reason="needs bash and grep")


def stand_ins(tmp_path: Path, uid: int, present: list[str], fonts: str = "") -> Path:
    """A PATH directory with `id`, `apt-get` (which records its arguments), `fc-list` and the
    commands in `present`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scripts = {
        "id": f"echo {uid}",
        "apt-get": f'echo "$*" >> {tmp_path / "apt.log"}',
        "fc-list": f"echo '{fonts}'",
        **dict.fromkeys(present, "true"),
    }
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text(f"#!{BASH}\n{body}\n")
        path.chmod(0o755)
    assert GREP is not None
    (bin_dir / "grep").symlink_to(GREP)
    return bin_dir


def run(bin_dir: Path) -> subprocess.CompletedProcess[str]:
    assert BASH is not None
    return subprocess.run(
        [BASH, str(SCRIPT)],
        env={"PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_nothing_to_do_when_every_package_is_there(tmp_path: Path) -> None:
    done = run(stand_ins(tmp_path, 1000, ALL, fonts="DejaVuSans.ttf: DejaVu Sans"))
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert not (tmp_path / "apt.log").exists()


def test_without_root_the_exact_command_is_printed_and_the_run_fails(tmp_path: Path) -> None:
    done = run(stand_ins(tmp_path, 1000, ["chromium", "nginx", "prometheus"]))
    assert done.returncode == 1
    missing = "poppler-utils prometheus-alertmanager victoria-metrics fonts-dejavu-core"
    assert f"sudo apt-get update && sudo apt-get install -y {missing}" in done.stderr
    assert not (tmp_path / "apt.log").exists()


def test_as_root_the_missing_packages_are_installed(tmp_path: Path) -> None:
    done = run(stand_ins(tmp_path, 0, ["nginx", "pdftoppm"], fonts="DejaVu Sans"))
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "apt.log").read_text().splitlines()
    assert calls == [
        "update -qq",
        "install -y -qq chromium prometheus prometheus-alertmanager victoria-metrics",
    ]
