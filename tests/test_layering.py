"""House rules that keep the layers honest: stylist/ imports inward only; only config.py reads the env."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTER = {"bot", "index", "training", "benchmarks", "tests", "web"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_stylist_core_imports_nothing_outward():
    offenders = {}
    for path in (ROOT / "stylist").rglob("*.py"):
        if path.name == "cli.py" and path.parent.name == "stylist":
            continue  # the command table imports sub-commands lazily, by string
        bad = _imports(path) & OUTER
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_only_config_reads_the_environment():
    readers = []
    for package in ("stylist", "bot", "index", "training", "web"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if ("os.environ" in text or "getenv(" in text) and path != ROOT / "stylist" / "config.py":
                readers.append(str(path.relative_to(ROOT)))
    assert readers == []


def test_every_module_opens_with_a_docstring():
    missing = []
    for package in ("stylist", "bot", "index", "training", "web"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            if path.stat().st_size and ast.get_docstring(tree) is None:
                missing.append(str(path.relative_to(ROOT)))
    assert missing == []


def test_nothing_but_tests_imports_the_web_layer():
    """web/ (playground, HTTP API) is the outermost layer: the bot, the index and training stay free of it."""
    offenders = {}
    for package in ("stylist", "bot", "index", "training"):
        for path in (ROOT / package).rglob("*.py"):
            if path == ROOT / "stylist" / "cli.py":
                continue  # the command table names sub-commands by string
            if "web" in _imports(path):
                offenders[str(path.relative_to(ROOT))] = "web"
    assert offenders == {}
