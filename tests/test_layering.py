"""The product's modules import one way, lowest layer first, and never in a circle.

STYLE.md: scoping → managers → models → visibility → jobs → the API, with the organisation's other
modules above the rule, submits (one write per form token or Idempotency-Key) above those, and
the migration gate, the demo data and the site above them all.
Inside visibility: the rule's cases → a user's visible divisions → those a user row brought →
the job filter, the "why", the write checks and the filter's choices.
A module may import its own layer and the layers below it, nothing higher.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("divisions", "submits", "jobs", "api", "demo", "proone")

# Lowest first. A module belongs to the first layer with a prefix that names it or a parent.
LAYERS = [
    ("SQL lookups", ["divisions.lookups"]),
    ("the signed principal", ["divisions.rls"]),
    ("the read replica's transaction", ["divisions.replica_reads"]),
    ("who acts", ["divisions.scoping"]),
    ("scoped managers", ["divisions.managers"]),
    ("models", ["divisions.models"]),
    ("the rule's cases", ["divisions.visibility.cases"]),
    ("a user's visible divisions", ["divisions.visibility.visible_divisions"]),
    ("the visible divisions a user row brought", ["divisions.visibility.loaded_divisions"]),
    ("the rule and its answers (filter, why, writes, choices)", ["divisions.visibility"]),
    ("the organisation", ["divisions"]),
    ("submits that write once", ["submits"]),
    ("jobs", ["jobs"]),
    ("the API", ["api"]),
    ("the site, the gate and the demo", ["proone", "demo"]),
]


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def product_modules():
    """{module name: path} for every Python file of the product's packages."""
    return {
        module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def imported(module, path, modules, tree=None):
    """The product modules that `module` imports, anywhere in the file, with line numbers."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree or ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import mod` imports the module pkg.mod; `from mod import name` mod.
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.append((name, node.lineno))
    return found


def layer_of(module):
    for index, (_, prefixes) in enumerate(LAYERS):
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def import_graph():
    modules = product_modules()
    return {module: imported(module, path, modules) for module, path in modules.items()}


def test_no_module_imports_a_higher_layer():
    upward = [
        f"{module}:{line} imports {target} ({LAYERS[layer_of(target)][0]} is above "
        f"{LAYERS[layer_of(module)][0]})"
        for module, targets in import_graph().items()
        for target, line in targets
        if layer_of(target) > layer_of(module)
    ]
    assert upward == []


def test_no_function_local_import_of_a_product_module():
    """Imports sit at the top, where the layering shows; AppConfig.ready and migrations excepted
    (ready runs once the models are loaded; a migration's file is frozen by its sign-off)."""
    modules = product_modules()
    local = []
    for module, path in modules.items():
        if ".migrations." in module:
            continue
        for function in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if function.name == "ready":
                continue
            body = ast.Module(body=function.body, type_ignores=[])
            local += [
                f"{module}:{line} ({function.name}) imports {target}"
                for target, line in imported(module, path, modules, tree=body)
            ]
    assert local == []


# The migration gate is an app of its own: what it needs from the project it names in settings
# (proone/gate/project.py), so it imports none of the apps it guards.
GATE = "proone.gate"
GUARDED_APPS = ("divisions", "submits", "jobs", "api", "demo")


def gate_imports_of_guarded_apps(graph):
    """`module:line imports target` for each import of a guarded app by a gate module."""
    return [
        f"{module}:{line} imports {target}"
        for module, targets in graph.items()
        if module == GATE or module.startswith(GATE + ".")
        for target, line in targets
        if target.split(".")[0] in GUARDED_APPS
    ]


def test_the_gate_imports_none_of_the_apps_it_guards():
    assert gate_imports_of_guarded_apps(import_graph()) == []
    planted = {"proone.gate.execute": [("divisions.scoping", 8), ("proone.gate.lock", 9)]}
    assert gate_imports_of_guarded_apps(planted) == [
        "proone.gate.execute:8 imports divisions.scoping"
    ]


def cycles(graph):
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle():
    graph = {
        module: {target for target, _ in targets} for module, targets in import_graph().items()
    }
    assert cycles(graph) == []


def test_the_checker_sees_an_upward_import_and_a_cycle():
    """The two tests above fail on what they guard: a planted circle through two layers."""
    graph = {"divisions.models": {"divisions.managers"}, "divisions.managers": {"divisions.models"}}
    assert cycles(graph) == [["divisions.managers", "divisions.models"]]
    assert layer_of("divisions.models") > layer_of("divisions.managers")
    assert layer_of("jobs.views") > layer_of("divisions.visibility.rule")
    assert layer_of("divisions.visibility.rule") > layer_of("divisions.visibility.loaded_divisions")
    assert layer_of("divisions.visibility.why") > layer_of("divisions.visibility.cases")
    assert layer_of("divisions.visibility.cases") > layer_of("divisions.models")
    assert layer_of("proone.gate.execute") > layer_of("jobs.models")


def benchmark_imports(tree):
    """(line, name) of each import of the benchmarks package in `tree`."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        else:
            continue
        found += [(node.lineno, name) for name in names if name.split(".")[0] == "benchmarks"]
    return found


def test_no_product_module_imports_the_benchmarks():
    """The benchmarks turn access control off on purpose (benchmarks.unscoped_wsgi): nothing
    the product runs may reach them."""
    reached = [
        f"{module}:{line} imports {name}"
        for module, path in product_modules().items()
        for line, name in benchmark_imports(ast.parse(path.read_text(), str(path)))
    ]
    assert reached == []
    planted = ast.parse("import os\nfrom benchmarks import unscoped_wsgi\nimport benchmarks.run\n")
    assert benchmark_imports(planted) == [(2, "benchmarks"), (3, "benchmarks.run")]
