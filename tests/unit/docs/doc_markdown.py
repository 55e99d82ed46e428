"""Reading docs/operators.md for the tests of this folder: a section, its tables, its Python blocks."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
OPERATORS_MD = ROOT / "docs" / "operators.md"


def section(heading: str, page: Path = OPERATORS_MD) -> list[str]:
    """The lines under ``## <heading>``, up to the next heading of that level (fenced blocks kept whole)."""
    lines = page.read_text().splitlines()
    starts = [i for i, line in enumerate(lines) if line == f"## {heading}"]
    assert len(starts) == 1, f"{page.name} has {len(starts)} sections '## {heading}'"
    body, fenced = [], False
    for line in lines[starts[0] + 1 :]:
        if line.startswith("## ") and not fenced:
            break
        fenced ^= line.startswith("```")
        body.append(line)
    return body


def tables(lines: list[str]) -> list[list[list[str]]]:
    """The Markdown tables among ``lines``: each a list of rows (the header first), each row its cells."""
    found: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*lines, ""]:
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not all(set(cell) <= {"-", ":"} for cell in cells):  # not the |---| line
                current.append(cells)
        elif current:
            found.append(current)
            current = []
    return found


def table(heading: str, header: list[str]) -> list[list[str]]:
    """The one table of section ``heading`` whose header is ``header``, without its header."""
    matching = [t for t in tables(section(heading)) if t[0] == header]
    assert len(matching) == 1, f"'## {heading}' has {len(matching)} tables headed {header}"
    return matching[0][1:]


def python_blocks(lines: list[str]) -> list[str]:
    """The fenced ```python blocks among ``lines``, as source text."""
    blocks: list[str] = []
    current: list[str] | None = None
    for line in lines:
        if current is None and line.strip() == "```python":
            current = []
        elif current is not None and line.startswith("```"):
            blocks.append("\n".join(current) + "\n")
            current = None
        elif current is not None:
            current.append(line)
    return blocks
