"""Check what the sdist and the wheel of ``python -m build`` hold, against the checkout.

The sdist: PKG-INFO, pyproject.toml, README.md, CHANGELOG.md (with a heading for the version), the
license files if the checkout has any, and every file of the package. The wheel: exactly the package's
files (modules, ``py.typed``, the sandbox's media) and its dist-info, with the entry points Airflow, pytest
and the shell need; nothing else (no tests/, benchmarks/, devtools/, scripts/ or example_dags/).

Usage: python scripts/check_dist.py DIST_FOLDER   (from the checkout; standard library only)
"""

from __future__ import annotations

import configparser
import re
import subprocess
import sys
import tarfile
import zipfile
from email.parser import HeaderParser
from pathlib import Path

PACKAGE = "airflow_provider_creatify"
DIST_NAME = "airflow-provider-creatify"
#: group -> names: what Airflow (provider info, plugin), pytest (the fixture) and the shell look up.
ENTRY_POINTS = {
    "apache_airflow_provider": {"provider_info"},
    "airflow.plugins": {"creatify"},
    "pytest11": {"creatify_sandbox"},
    "console_scripts": {"creatify-sandbox", "creatify-models"},
}
#: Package data that is not a module: without it the sandbox serves no video and mypy ignores the types.
PACKAGE_DATA = {f"{PACKAGE}/py.typed", f"{PACKAGE}/sandbox/media/sample.mp4"}


def package_files(root: Path) -> set[str]:
    """The package's files as git would commit them (tracked, or new and not ignored), without bytecode."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", PACKAGE],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return {name for name in listed if (root / name).is_file() and not name.endswith((".pyc", ".pyo"))}


def source_version(root: Path) -> str:
    """``__version__`` of the package's ``__init__.py``: the one place the version lives."""
    found = re.search(r'^__version__ = "([^"]+)"', (root / PACKAGE / "__init__.py").read_text(), re.M)
    if not found:
        raise SystemExit(f'check_dist: no __version__ = "..." line in {PACKAGE}/__init__.py')
    return found.group(1)


def check_sdist(path: Path, root: Path, version: str, expected: set[str]) -> list[str]:
    """What is wrong with the sdist ``path`` (nothing: an empty list)."""
    top = f"{PACKAGE}-{version}/"
    with tarfile.open(path) as archive:
        members = {m.name: m for m in archive.getmembers() if m.isfile()}
        names = {name.removeprefix(top) for name in members}
        problems = [f"sdist: {name} is outside {top}" for name in members if not name.startswith(top)]
        changelog = (
            archive.extractfile(members[top + "CHANGELOG.md"]) if top + "CHANGELOG.md" in members else None
        )
        changelog_text = changelog.read().decode() if changelog else ""
    licenses = {p.name for p in root.glob("LICEN[CS]E*")} | {p.name for p in root.glob("NOTICE*")}
    needed = {"PKG-INFO", "pyproject.toml", "README.md", "CHANGELOG.md"} | licenses | expected
    problems += [
        f"sdist: {name} is missing (a build from the sdist needs it; MANIFEST.in includes extra files)"
        for name in sorted(needed - names)
    ]
    if changelog_text and not re.search(rf"^#+ .*\b{re.escape(version)}\b", changelog_text, re.M):
        problems.append(f"sdist: CHANGELOG.md has no heading for {version}: add its entry before releasing")
    return problems


def check_wheel(path: Path, version: str, expected: set[str]) -> list[str]:
    """What is wrong with the wheel ``path`` (nothing: an empty list)."""
    info = f"{PACKAGE}-{version}.dist-info/"
    with zipfile.ZipFile(path) as archive:
        names = {n for n in archive.namelist() if not n.endswith("/")}
        metadata = (
            HeaderParser().parsestr(archive.read(info + "METADATA").decode())
            if info + "METADATA" in names
            else None
        )
        entry_text = (
            archive.read(info + "entry_points.txt").decode() if info + "entry_points.txt" in names else ""
        )
    problems = [
        f"wheel: {name} does not belong in it (only {PACKAGE}/ and its dist-info are shipped)"
        for name in sorted(names)
        if not name.startswith((f"{PACKAGE}/", info))
    ]
    files = {n for n in names if n.startswith(f"{PACKAGE}/")}
    problems += [
        f"wheel: {name} is missing (package data goes in pyproject's [tool.setuptools.package-data])"
        for name in sorted((expected | PACKAGE_DATA) - files)
    ]
    problems += [
        f"wheel: {name} is not a file of the checkout's package" for name in sorted(files - expected)
    ]
    if metadata is None:
        return [*problems, f"wheel: no {info}METADATA"]
    if (metadata["Name"], metadata["Version"]) != (DIST_NAME, version):
        problems.append(
            f"wheel: METADATA says {metadata['Name']} {metadata['Version']}, not {DIST_NAME} {version}"
        )
    entry_points = configparser.ConfigParser(delimiters=("=",))
    entry_points.read_string(entry_text)
    for group, wanted in ENTRY_POINTS.items():
        have = set(entry_points[group]) if entry_points.has_section(group) else set()
        problems += [f"wheel: entry point {group}:{name} is missing" for name in sorted(wanted - have)]
    return problems


def main() -> None:
    dist = Path(sys.argv[1])
    root = Path(__file__).resolve().parent.parent
    version = source_version(root)
    sdists, wheels = sorted(dist.glob("*.tar.gz")), sorted(dist.glob("*.whl"))
    if len(sdists) != 1 or len(wheels) != 1:
        raise SystemExit(f"check_dist: expected one sdist and one wheel in {dist}, found {sdists + wheels}")
    expected = package_files(root)
    problems = check_sdist(sdists[0], root, version, expected) + check_wheel(wheels[0], version, expected)
    for problem in problems:
        print(f"check_dist: {problem}", file=sys.stderr)
    if problems:
        raise SystemExit(1)
    print(f"ok sdist and wheel of {DIST_NAME} {version}: {len(expected)} package files and nothing else")


if __name__ == "__main__":
    main()
