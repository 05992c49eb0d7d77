"""How big the kernel is: the Python of ``core/`` in physical lines, and in
lines of code (without blank lines, comments and docstrings).

    python scripts/core_size.py           # both counts for core/
    python scripts/core_size.py plugins   # or any other folder

Issue 18 set the target of 8,000 lines; docs/architecture.md records the
last numbers.
"""
from __future__ import annotations

import ast
import io
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def docstring_lines(tree: ast.AST) -> set[int]:
    """Line numbers covered by docstrings and bare string statements."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            lines.update(range(node.lineno, node.end_lineno + 1))
    return lines


def code_lines(source: str) -> int:
    """Lines holding at least one token that is neither a comment nor part of a docstring."""
    skipped = docstring_lines(ast.parse(source))
    counted: set[int] = set()
    ignored = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
               tokenize.ENDMARKER, tokenize.ENCODING}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in ignored:
            continue
        counted.update(line for line in range(token.start[0], token.end[0] + 1) if line not in skipped)
    return len(counted)


def measure(folder: Path) -> tuple[int, int, int]:
    """``(files, physical lines, lines of code)`` of the ``.py`` files under ``folder``."""
    files = sorted(folder.rglob("*.py"))
    physical = code = 0
    for path in files:
        source = path.read_text(encoding="utf-8")
        physical += len(source.splitlines())
        code += code_lines(source)
    return len(files), physical, code


def main(argv: list[str]) -> int:
    folder = ROOT / (argv[0] if argv else "core")
    files, physical, code = measure(folder)
    print(f"{folder.relative_to(ROOT)}: {files} files, {physical} physical lines, {code} lines of code "
          "(no blank lines, comments or docstrings)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
