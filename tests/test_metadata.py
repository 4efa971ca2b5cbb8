"""Honest metadata: every package the code imports is declared, and constraints.txt pins all that
the app and its tests install (so `make setup` on a fresh clone gets what the tests ran with)."""

import ast
import importlib.metadata
import importlib.util
import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

from pillow_web.config import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def name_of(requirement):
    """The normalised distribution name a requirement (or a distribution) names."""
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", requirement)[0]).lower()


def imported_modules(folder):
    """The absolute module names imported anywhere under ``folder``."""
    names = set()
    for path in folder.rglob("*.py"):
        if "node_modules" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module)
    return names


def distribution_of(module):
    """The installed distribution that provides ``module`` (None for the standard library and
    this project's own packages); for a namespace such as ``azure``, the one with its file."""
    top = module.split(".")[0]
    if top in sys.stdlib_module_names or top in ("pillow_web", "tests", "bench", "chaos"):
        return None
    candidates = importlib.metadata.packages_distributions().get(top, [])
    if len(set(candidates)) == 1:
        return name_of(candidates[0])
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, f"{module} is not installed"
    origin = Path(spec.origin).resolve()
    for candidate in candidates:
        distribution = importlib.metadata.distribution(candidate)
        if any(Path(distribution.locate_file(f)).resolve() == origin
               for f in distribution.files or ()):
            return name_of(candidate)
    raise AssertionError(f"no installed distribution provides {module}")


def undeclared(folder, declared):
    modules = imported_modules(folder)
    return {module: dist for module in sorted(modules)
            if (dist := distribution_of(module)) is not None and dist not in declared}


def test_every_package_the_app_imports_is_a_declared_dependency():
    runtime = {name_of(requirement) for requirement in PROJECT["dependencies"]}
    assert undeclared(ROOT / "pillow_web", runtime) == {}


def test_every_package_the_tests_import_is_in_the_test_extra():
    declared = {name_of(requirement) for requirement in
                PROJECT["dependencies"] + PROJECT["optional-dependencies"]["test"]}
    assert undeclared(ROOT / "tests", declared) == {}


def test_every_package_the_benchmarks_and_the_chaos_run_import_is_declared_for_them():
    bench = [line for line in (ROOT / "bench" / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    declared = {name_of(requirement) for requirement in
                PROJECT["dependencies"] + PROJECT["optional-dependencies"]["test"] + bench}
    # A module `make bench` has not installed yet goes by its own name (matplotlib, psutil).
    providers = {module: distribution_of(module) if importlib.util.find_spec(top) else name_of(top)
                 for module in imported_modules(ROOT / "bench") | imported_modules(ROOT / "chaos")
                 if (top := module.split(".")[0])}
    assert {module: dist for module, dist in sorted(providers.items())
            if dist is not None and dist not in declared} == {}


def test_constraints_pin_every_package_the_app_and_its_tests_install():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[name_of(name)] = version.strip()
    todo = [Requirement(text) for text in
            PROJECT["dependencies"] + PROJECT["optional-dependencies"]["test"]]
    seen, unpinned = set(), {}
    while todo:
        requirement = todo.pop()
        name = name_of(requirement.name)
        extras = requirement.extras | {""}
        if (name, frozenset(extras)) in seen:
            continue
        seen.add((name, frozenset(extras)))
        installed = importlib.metadata.version(name)
        if pins.get(name) != installed:
            unpinned[name] = (pins.get(name), installed)
        for text in importlib.metadata.requires(name) or ():
            needed = Requirement(text)
            if needed.marker is None or any(needed.marker.evaluate({"extra": extra})
                                            for extra in extras):
                todo.append(needed)
    assert unpinned == {}, "(pinned, installed)"
    assert len({name for name, _ in seen}) > 40
