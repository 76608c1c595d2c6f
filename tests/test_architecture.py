"""The package's import layers hold, and no set of its modules imports itself in a cycle."""

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sklearn_ecg"

grimp = pytest.importorskip("grimp", reason="the import checks need import-linter (the test extra)")
pytest.importorskip("importlinter", reason="the import checks need import-linter (the test extra)")


def _ignored_imports():
    """The imports the layers contract lets through, as (importer, imported) pairs."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    pairs = set()
    for contract in config["contracts"]:
        for line in contract.get("ignore_imports", []):
            importer, imported = (part.strip() for part in line.split("->"))
            pairs.add((importer, imported))
    return pairs


def test_import_contracts_hold():
    # In a subprocess of this interpreter, from the repository root: the CI's command.
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and "0 broken" in result.stdout


def _strongly_connected(edges):
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            components.append(component)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return components


def test_no_import_cycle():
    sys.path.insert(0, str(ROOT))
    try:
        graph = grimp.build_graph("sklearn_ecg", cache_dir=None)
    finally:
        sys.path.remove(str(ROOT))
    ignored = _ignored_imports()
    edges = {m: {d for d in graph.find_modules_directly_imported_by(m) if (m, d) not in ignored}
             for m in graph.modules}
    cycles = [sorted(c) for c in _strongly_connected(edges) if len(c) > 1]
    assert cycles == []
    assert _strongly_connected({"a": {"b"}, "b": {"a"}, "c": set()}) == [{"a", "b"}, {"c"}]


def _module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_function_level_import_of_the_package_beyond_the_ignored_ones():
    # Function-level imports of the package's own modules only ever dodged cycles;
    # heavy optional packages (matplotlib, transformers, ...) may still be imported late.
    ignored = _ignored_imports()
    found = set()
    for path in PACKAGE.rglob("*.py"):
        module = _module_name(path)
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and inner.level:
                    base = package.split(".")
                    base = base[: len(base) - inner.level + 1]
                    target = ".".join(base + ([inner.module] if inner.module else []))
                    found.add((module, target))
                elif isinstance(inner, ast.Import | ast.ImportFrom):
                    name = inner.module if isinstance(inner, ast.ImportFrom) else inner.names[0].name
                    if name and name.split(".")[0] == "sklearn_ecg":
                        found.add((module, name))
    assert found <= ignored, sorted(found - ignored)


def test_the_layers_let_no_import_through():
    assert _ignored_imports() == set()


def test_zero_shot_defaults_live_below_zero_shot_and_keep_their_public_names():
    from sklearn_ecg import prompts, zero_shot

    sys.path.insert(0, str(ROOT))
    try:
        graph = grimp.build_graph("sklearn_ecg", cache_dir=None)
    finally:
        sys.path.remove(str(ROOT))
    assert "sklearn_ecg.prompts" not in graph.find_modules_directly_imported_by("sklearn_ecg.zero_shot")
    table = zero_shot.ZeroShotECGClassifier(pretrainer=None)._table()
    assert table is prompts.PTBXL_SUPERCLASS_STATEMENT_DESCRIPTIONS
    assert list(table) == ["NORM", "MI", "STTC", "CD", "HYP"]
    assert set(prompts.__all__) == {"PTBXL_SUPERCLASS_STATEMENT_DESCRIPTIONS",
                                    "class_descriptions_from_statements", "FewLabelPromptSelector"}
    assert callable(prompts.class_descriptions_from_statements)


def _module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _private_names_crossing():
    """``(importer, source, name)`` for every private name a module takes from another one.

    Imports of private *modules* (``from sklearn_ecg import _validation``) are
    not counted: those are the package's internal modules, whose public names
    are their API. Their private names read as attributes are counted.
    """
    modules = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = _module_name(path)
        package = importer if path.name == "__init__.py" else importer.rsplit(".", 1)[0]
        aliases = {}
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            elif (node.module or "").split(".")[0] == "sklearn_ecg":
                source = node.module
            else:
                continue
            for alias in node.names:
                if f"{source}.{alias.name}" in modules:
                    aliases[alias.asname or alias.name] = f"{source}.{alias.name}"
                elif alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append((importer, source, alias.name))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                found.append((importer, aliases[node.value.id], node.attr))
    return found


def _subpackage(module):
    """``sklearn_ecg.preprocessing`` for its modules; a top-level module is its own."""
    parts = module.split(".")
    return ".".join(parts[:2])


def test_private_names_stay_in_their_subpackage():
    # A name used by another layer is internal API: without the underscore, in a
    # module that says what it offers (e.g. sklearn_ecg._base's RecordDataset).
    # Modules of one subpackage (preprocessing, datasets, plotting, nn) share
    # their private helpers.
    crossing = [(importer, source, name) for importer, source, name in _private_names_crossing()
                if _subpackage(importer) != _subpackage(source)]
    assert crossing == []


def test_the_private_name_scan_finds_such_imports(tmp_path, monkeypatch):
    # The scan itself: a module of a subpackage importing a private name of another layer.
    fake = tmp_path / "sklearn_ecg"
    (fake / "sub").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "_base.py").write_text("_SECRET = 1\n")
    (fake / "sub" / "__init__.py").write_text("")
    (fake / "sub" / "mod.py").write_text("from .._base import _SECRET\nfrom .. import _base\nx = _base._SECRET\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert sorted(_private_names_crossing()) == [("sklearn_ecg.sub.mod", "sklearn_ecg._base", "_SECRET")] * 2
