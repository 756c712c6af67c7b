"""What a release carries: one version, the license, a changelog, metadata for the Pythons tested."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import archipy_lite

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_version_is_written_once_in_pyproject() -> None:
    assert archipy_lite.__version__ == PROJECT["version"]
    code = "from archipy_lite import __version__; print(__version__)"
    printed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert printed.strip() == PROJECT["version"]
    version_files = [path for path in (ROOT / "archipy_lite").rglob("*.py") if PROJECT["version"] in path.read_text()]
    assert version_files == []  # no second copy to forget


def test_the_license_file_is_the_apache_license_pyproject_names() -> None:
    assert PROJECT["license"] == "Apache-2.0"
    assert PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text
    assert "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_the_changelog_keeps_a_changelog_with_this_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    releases = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", text, flags=re.MULTILINE)
    assert releases[0] == ("Unreleased", "")
    assert (PROJECT["version"], releases[1][1]) in releases
    assert releases[1][1]  # a released version has a date


def test_classifiers_name_exactly_the_pythons_ci_tests() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    tested = sorted(set(re.findall(r"find_python (3\.\d+)", ci)))
    classified = sorted(c.rsplit(" :: ", 1)[1] for c in PROJECT["classifiers"] if re.match(r".*Python :: 3\.\d+$", c))
    assert classified == tested
    assert "Typing :: Typed" in PROJECT["classifiers"]
    assert (ROOT / "archipy_lite" / "py.typed").exists()
    assert PROJECT["requires-python"] == f">={tested[0]}"


def test_the_readme_names_the_versions_ci_tests() -> None:
    """The README's table of tested versions agrees with uv.lock and pyproject.toml's lower bounds."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    if lock.get("options", {}).get("resolution-mode"):  # CI's lowest-versions copy relocks on purpose
        pytest.skip(f"uv.lock was resolved with {lock['options']['resolution-mode']}")
    locked = {package["name"]: package["version"] for package in lock["package"]}
    requirements = PROJECT["dependencies"] + [r for extra in PROJECT["optional-dependencies"].values() for r in extra]
    lowest = {}
    for requirement in requirements:
        match = re.match(r"([\w-]+)(?:\[[\w,]+\])?>=([\d.]+)", requirement)
        if match:
            lowest[match.group(1)] = match.group(2)
    table = re.findall(
        r"^\| ([\w-]+)(?: \(extra\))? \| ([\d.]+) \| ([\d.]+) \|$", (ROOT / "README.md").read_text(), re.M
    )
    assert {name for name, _, _ in table} == set(lowest)
    for name, locked_version, lowest_version in table:
        assert (name, locked_version) == (name, locked[name])
        assert (name, lowest_version) == (name, lowest[name])
