"""The layout's promises, checked on the source: a core that loads no network library, argparse only
in the CLI, the environment read in few places, one error boundary, one module of each name."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "autodeploy"
SOURCES = sorted(PACKAGE.rglob("*.py"))


def modules_using(predicate_name: str) -> set[str]:
    """Modules whose code (not docstrings or comments) names `predicate_name`, e.g. os.environ."""
    found = set()
    for path in SOURCES:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            text = ast.unparse(node) if isinstance(node, ast.Attribute | ast.Name) else ""
            if text == predicate_name:
                found.add(str(path.relative_to(PACKAGE)))
    return found


@pytest.mark.parametrize(
    "modules",
    [
        "autodeploy.plan, autodeploy.imagefile, autodeploy.errors, autodeploy.deploys, autodeploy.request",
        "autodeploy.matrix, autodeploy.promotion, autodeploy.localfleet",
        "autodeploy.deployment, autodeploy.flux",
        "autodeploy.options, autodeploy.environment, autodeploy.targets, autodeploy.pipeline",
        "autodeploy.cli.build, autodeploy.cli.parser, autodeploy.action.inputs, autodeploy.render",
    ],
)
def test_the_core_and_the_option_builders_load_no_network_library(modules: str) -> None:
    code = (
        f"import sys, {modules}; "
        "print(sorted(m for m in ('github', 'requests', 'docker', 'urllib3') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


def test_argparse_is_the_cli_s_alone() -> None:
    users = {str(p.relative_to(PACKAGE)) for p in SOURCES if "argparse" in _imports(p)}
    assert users <= {"cli/parser.py", "cli/build.py"}, users


def test_the_environment_is_read_in_at_most_three_modules() -> None:
    readers = modules_using("os.environ")
    assert len(readers) <= 3, readers
    assert readers <= {"cli/__init__.py", "action/__init__.py", "gitlocal.py"}, readers


def test_one_place_handles_an_interrupt() -> None:
    """The boundary turns it into exit 130; the wait only sees one go by (to mark its deployments
    cancelled) and raises it on."""
    assert modules_using("KeyboardInterrupt") == {"boundary.py", "waiting.py"}
    handlers = [
        node
        for node in ast.walk(ast.parse((PACKAGE / "waiting.py").read_text()))
        if isinstance(node, ast.ExceptHandler)
        and node.type is not None
        and ast.unparse(node.type) == "KeyboardInterrupt"
    ]
    assert handlers and all(isinstance(h.body[-1], ast.Raise) and h.body[-1].exc is None for h in handlers)


def test_no_module_level_cache_keyed_by_object_ids() -> None:
    for path in SOURCES:
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign | ast.AnnAssign):
                assert "id(" not in ast.unparse(node) and "dict[int" not in ast.unparse(node), path


def test_module_names_do_not_collide() -> None:
    """One module of a name, but for the roles the two network adapters share on purpose."""
    names = Counter(p.name for p in SOURCES if p.name not in {"__init__.py", "__main__.py"})
    parallel = {"auth.py", "client.py", "credentials.py"}  # registry/ and github/, side by side
    assert {name for name, count in names.items() if count > 1} <= parallel, names


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
    return found
