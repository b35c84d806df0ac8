"""`make test` sets itself up: tools/install-browser.sh installs Chromium when it may.

The script runs under a PATH holding only stubs (``id``, ``sudo``, ``apt-get``, ``chromium``)
that record how they were called, so each case (browser present, root, passwordless sudo, no
rights, no apt-get) is exercised without touching the machine's packages.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "install-browser.sh"
BASH = "/bin/bash"


def stub(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!{BASH}\n{body}\n")
    path.chmod(0o755)


@pytest.fixture
def fake(tmp_path):
    """A PATH of stubs; ``apt-get install`` "installs" chromium by creating its stub."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    stub(bin_dir, "env", f'echo "env $*" >> {log}; while [[ $1 == *=* ]]; do shift; done; "$@"')
    stub(
        bin_dir,
        "apt-get",
        f'echo "apt-get $*" >> {log}\n'
        f'if [ "$1" = install ]; then printf "#!{BASH}\\n" > {bin_dir}/chromium; '
        f"/bin/chmod +x {bin_dir}/chromium; fi",
    )

    def run(uid: int = 0, sudo: str | None = None, chromium: bool = False, apt: bool = True):
        stub(bin_dir, "id", f"echo {uid}")
        if sudo is not None:
            # "ok": sudo -n works (no password needed); "password": it would ask, so -n fails
            code = 0 if sudo == "ok" else 1
            stub(bin_dir, "sudo", f'echo "sudo $*" >> {log}; [ {code} = 0 ] || exit 1; shift; "$@"')
        if chromium:
            stub(bin_dir, "chromium", "true")
        if not apt:
            (bin_dir / "apt-get").unlink()
        done = subprocess.run(
            [BASH, str(SCRIPT)],
            env={"PATH": str(bin_dir)},
            capture_output=True,
            text=True,
            timeout=30,
        )
        calls = log.read_text().splitlines() if log.exists() else []
        return done, calls, (bin_dir / "chromium").exists()

    return run


def test_nothing_to_do_when_chromium_is_there(fake):
    done, calls, _ = fake(uid=1000, chromium=True)
    assert done.returncode == 0
    assert calls == [] and done.stdout == "" and done.stderr == ""


def test_root_installs_chromium_with_apt(fake):
    done, calls, installed = fake(uid=0)
    assert done.returncode == 0, done.stderr
    apt = [c for c in calls if c.startswith("apt-get")]
    assert apt == ["apt-get update -qq", "apt-get install -y -qq chromium"]
    assert all("DEBIAN_FRONTEND=noninteractive" in c for c in calls if c.startswith("env"))
    assert installed
    assert "installing Chromium" in done.stderr  # the install is not silent


def test_passwordless_sudo_installs_chromium(fake):
    done, calls, installed = fake(uid=1000, sudo="ok")
    assert done.returncode == 0, done.stderr
    assert [c for c in calls if c.startswith("apt-get")] == [
        "apt-get update -qq",
        "apt-get install -y -qq chromium",
    ]
    assert any(c.startswith("sudo -n env") for c in calls)
    assert installed


@pytest.mark.parametrize("sudo", [None, "password"])
def test_without_rights_one_line_says_what_and_why(fake, sudo):
    done, calls, installed = fake(uid=1000, sudo=sudo)
    assert done.returncode == 1
    assert not [c for c in calls if c.startswith("apt-get")] and not installed
    lines = done.stderr.splitlines()
    assert len(lines) == 1
    assert "apt-get install chromium" in lines[0] and "browser test" in lines[0]


def test_without_apt_one_line_names_the_package(fake):
    done, calls, installed = fake(uid=0, apt=False)
    assert done.returncode == 1 and not installed
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "'chromium'" in lines[0] and "package manager" in lines[0]


def test_make_test_installs_the_browser_before_the_tests():
    text = (ROOT / "Makefile").read_text()
    test_rule = next(line for line in text.splitlines() if line.startswith("test:"))
    assert "browser" in test_rule.split(":", 1)[1].split()
    assert "tools/install-browser.sh" in text
    assert (ROOT / ".ci/run").read_text().strip().splitlines()[-1] == "make test"
