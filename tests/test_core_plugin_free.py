"""Core's code names no bundled plugin, no plugin's action id and no
plugin's queue, and imports no plugin (issue 18). Docstrings and comments
may mention them (they explain what a hook is for); the code may not. The
event kinds have their own, stricter check in test_event_kinds.py."""
from __future__ import annotations

import ast
from pathlib import Path

from core import state
from core.plugins.discovery import bundled_plugins
from core.plugins.host import CORE_PLUGIN_MODULES
from core.queue import plugin_queues

ROOT = Path(__file__).resolve().parent.parent

#: words that are a plugin's name and also core's own vocabulary, with where
#: core may use them: ``email`` is the contact's native address field (the
#: column, the API field, the login form) and the channel id a
#: ``core.Message`` to an address defaults to (whichever plugin registers it);
#: ``segments`` is a key custom fields may not take because exports and the
#: API use it as a column name
SHARED_WORDS = {
    "email": "everywhere",
    "segments": "core/fields_admin.py",
}


def docstrings(tree: ast.AST) -> set[int]:
    """The ids of the string constants that are documentation: docstrings and
    bare string statements (attribute docs)."""
    return {id(node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)}


def code_strings(path: Path):
    """``(line, text)`` of every string literal in ``path`` outside docstrings
    (comments are not in the AST at all)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            yield node.lineno, node.value


def core_files():
    return sorted((ROOT / "core").rglob("*.py"))


def test_the_scan_skips_docstrings_and_comments_only(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('"""Talks about tracking."""\n# and forms\n'
                      'def f():\n    """scoring."""\n    return "gdpr", f"{1}tracking"\n')
    assert [text for _, text in code_strings(sample)] == ["gdpr", "tracking"]


def test_core_code_names_no_bundled_plugin():
    names = {info.name for info in bundled_plugins()}
    assert {"tracking", "forms", "email", "segments", "automation"} <= names
    offenders = []
    for path in core_files():
        relative = str(path.relative_to(ROOT))
        for line, text in code_strings(path):
            allowed = SHARED_WORDS.get(text)
            if text in names and allowed not in ("everywhere", relative):
                offenders.append(f"{relative}:{line}: {text!r}")
    assert not offenders, "core's code names plugins:\n" + "\n".join(offenders)


def test_core_imports_no_plugin():
    offenders = []
    for path in core_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module or ""]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno}: {module}" for module in modules
                          if module == "plugins" or module.startswith("plugins.")]
    assert not offenders, "core imports plugins:\n" + "\n".join(offenders)


def test_core_code_names_no_plugin_action_or_queue(ctx):
    actions = state().registries.actions
    plugin_actions = {action.id for action in actions if actions.owner(action.id) not in CORE_PLUGIN_MODULES}
    assert {"points.change", "email.send"} <= plugin_actions
    queues = {queue.name for _, queue in plugin_queues()}
    assert {"email", "import"} <= queues
    offenders = []
    for path in core_files():
        relative = path.relative_to(ROOT)
        offenders += [f"{relative}:{line}: {text!r}" for line, text in code_strings(path)
                      if text in plugin_actions or (text in queues and text not in SHARED_WORDS)]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):  # queue="email"
            if isinstance(node, ast.keyword) and node.arg == "queue" and isinstance(node.value, ast.Constant) \
                    and node.value.value in queues:
                offenders.append(f"{relative}:{node.value.lineno}: queue={node.value.value!r}")
    assert not offenders, "core's code names plugins' actions or queues:\n" + "\n".join(offenders)
