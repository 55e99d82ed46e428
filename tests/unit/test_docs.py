"""The docs show what the code does: every snippet that names an example DAG is that DAG's marked region.

A snippet is a fenced block right after ``<!-- snippet: example_dags/<file>.py#<name> -->``; the region is
what the example DAG holds between ``# [START <name>]`` and ``# [END <name>]`` (Airflow's convention).
"""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SNIPPET = re.compile(r"<!-- snippet: (?P<file>[\w./-]+)#(?P<name>[\w-]+) -->")
MARKER = re.compile(r"#\s*\[(START|END) [\w-]+\]")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def pages(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def _tidy(lines: list[str]) -> str:
    return textwrap.dedent("\n".join(line.rstrip() for line in lines)).strip("\n")


def region(source: str, name: str) -> str | None:
    """The lines between ``# [START name]`` and ``# [END name]``, dedented, nested markers left out."""
    lines = source.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == f"# [START {name}]"]
    ends = [i for i, line in enumerate(lines) if line.strip() == f"# [END {name}]"]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        return None
    return _tidy([line for line in lines[starts[0] + 1 : ends[0]] if not MARKER.fullmatch(line.strip())])


def snippet_problems(page: Path, root: Path = ROOT) -> list[str]:
    """What does not match in one page: a missing file or region, no fenced block, or a different one."""
    problems, lines = [], page.read_text().splitlines()
    for number, line in enumerate(lines):
        found = SNIPPET.fullmatch(line.strip())
        if not found:
            continue
        where = f"{page.name}:{number + 1} ({found['file']}#{found['name']})"
        source = root / found["file"]
        wanted = region(source.read_text(), found["name"]) if source.is_file() else None
        if wanted is None:
            problems.append(f"{where}: no such file, or no single region of that name in it")
            continue
        fence = number + 1
        while fence < len(lines) and not lines[fence].strip():
            fence += 1
        if fence == len(lines) or not lines[fence].startswith("```"):
            problems.append(f"{where}: no fenced block follows the marker")
            continue
        end = next((i for i in range(fence + 1, len(lines)) if lines[i].startswith("```")), len(lines))
        if _tidy(lines[fence + 1 : end]) != wanted:
            problems.append(f"{where}: the block differs from the example DAG's region")
    return problems


def test_every_snippet_is_its_example_region():
    markers = {page.name: SNIPPET.findall(page.read_text()) for page in pages()}
    assert ("example_dags/example_creatify_text_to_image.py", "quickstart") in markers["README.md"]
    assert len(markers["operators.md"]) >= 5
    assert [problem for page in pages() for problem in snippet_problems(page)] == []


def test_the_check_catches_an_example_dag_that_changed_without_its_doc(tmp_path):
    shutil.copytree(ROOT / "example_dags", tmp_path / "example_dags")
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    assert snippet_problems(tmp_path / "README.md", tmp_path) == []

    dag = tmp_path / "example_dags" / "example_creatify_text_to_image.py"
    dag.write_text(dag.read_text().replace("timeout=600", "timeout=900"))
    assert [p for p in snippet_problems(tmp_path / "README.md", tmp_path) if "differs" in p]

    dag.write_text(dag.read_text().replace("# [START quickstart]", "# [START quick_start]"))
    assert [p for p in snippet_problems(tmp_path / "README.md", tmp_path) if "no single region" in p]

    dag.unlink()
    assert [p for p in snippet_problems(tmp_path / "README.md", tmp_path) if "no such file" in p]


def test_the_region_leaves_out_nested_markers_and_indentation():
    source = "x = 1\n    # [START a]\n    y = 2\n    # [START b]\n    z = 3\n    # [END b]\n    # [END a]\n"
    assert region(source, "a") == "y = 2\nz = 3"
    assert region(source, "missing") is None


def test_the_readme_is_at_most_160_lines():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 160


def test_every_docs_page_is_linked_from_the_readme():
    linked = {(ROOT / target.split("#")[0]).resolve() for target in _links(ROOT / "README.md")}
    assert [page.name for page in pages()[1:] if page.resolve() not in linked] == []


def _prose(page: Path) -> list[str]:
    """The page's lines outside fenced blocks."""
    lines, fenced = [], False
    for line in page.read_text().splitlines():
        fenced ^= line.startswith("```")
        if not fenced and not line.startswith("```"):
            lines.append(line)
    return lines


def _links(page: Path) -> list[str]:
    return [target for line in _prose(page) for target in LINK.findall(line)]


def _anchors(page: Path) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as dashes."""
    anchors: set[str] = set()
    for line in _prose(page):
        if not line.startswith("#"):
            continue
        slug = re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        anchor, n = slug, 0
        while anchor in anchors:
            n += 1
            anchor = f"{slug}-{n}"
        anchors.add(anchor)
    return anchors


def test_every_relative_link_points_at_an_existing_file_and_heading():
    broken = []
    for page in pages():
        for target in _links(page):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.exists() or (anchor and file.suffix == ".md" and anchor not in _anchors(file)):
                broken.append(f"{page.name}: {target}")
    assert broken == []


def test_every_benchmark_that_run_py_runs_is_described_in_development_md():
    """benchmarks/run.py's BENCHMARKS, read as text: tests do not import benchmarks/."""
    source = (ROOT / "benchmarks" / "run.py").read_text()
    names = re.findall(
        r'"(\w+)"', source[source.index("BENCHMARKS = (") : source.index(")", source.index("BENCHMARKS = ("))]
    )
    development = (ROOT / "docs" / "development.md").read_text()
    assert len(names) >= 6
    assert [name for name in names if f"python -m benchmarks.{name}`" not in development] == []
