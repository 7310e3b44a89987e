"""House rules that keep the layers honest: imports point inward only; only config.py reads the env.

stylist/ (the core) imports nothing outward; index/, bot/ and training/ build on the core and not on each
other (training/ may use index/ to build its eval indexes); demo/ sits on top and may use them all.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTER = {"bot", "index", "training", "demo", "benchmarks", "tests"}
FORBIDDEN = {  # package -> top-level packages it must not import
    "index": {"training", "bot", "demo", "benchmarks", "tests"},
    "bot": {"training", "index", "demo", "benchmarks", "tests"},
    "training": {"bot", "demo", "benchmarks", "tests"},
    "demo": {"bot", "benchmarks", "tests"},
}


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


def test_outer_layers_import_only_inward():
    offenders = {}
    for package, forbidden in FORBIDDEN.items():
        for path in (ROOT / package).rglob("*.py"):
            bad = _imports(path) & forbidden
            if bad:
                offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_the_layering_rule_sees_a_violation(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import os\nfrom training.data import boards\n\ndef f():\n    import bot.app\n")
    assert _imports(module) == {"os", "training", "bot"}


def test_only_config_reads_the_environment():
    readers = []
    for package in ("stylist", "bot", "index", "training", "demo"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if ("os.environ" in text or "getenv(" in text) and path != ROOT / "stylist" / "config.py":
                readers.append(str(path.relative_to(ROOT)))
    assert readers == []


def test_every_module_opens_with_a_docstring():
    missing = []
    for package in ("stylist", "bot", "index", "training", "demo"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            if path.stat().st_size and ast.get_docstring(tree) is None:
                missing.append(str(path.relative_to(ROOT)))
    assert missing == []
