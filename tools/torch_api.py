"""Which torch APIs rnnlib calls, and which of them a given torch release defines (read statically).

``used_torch_names()`` scans rnnlib's source (AST) for ``torch.*`` attribute chains, including those
reached through an import alias (``nn.LSTM``, ``F.cross_entropy``, ``Tensor``) and names imported with
``from torch... import``; each comes back as a full dotted name (``torch.nn.LSTM``).
``tests/test_torch_minimum.py`` checks them against a listing of the declared minimum release.

To regenerate that listing (from a checkout, no torch of that version installed)::

    pip download --no-deps --only-binary=:all: --platform macosx_11_0_arm64 --python-version 3.11 \
        torch==2.2.2 -d /tmp/torch-min
    unzip -q /tmp/torch-min/torch-*.whl 'torch/*.py' 'torch/*.pyi' -d /tmp/torch-min/src
    python -m tools.torch_api /tmp/torch-min/src

The release's ``.py`` and ``.pyi`` files are parsed, never imported (any platform's wheel will do:
the Python sources are the same). It prints the used names the release defines, for the test's listing,
and those it lacks.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "rnnlib"


def _aliases(tree: ast.Module) -> dict[str, str]:
    """Local name → dotted torch name, for every import of torch in the module (any depth)."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "torch" or alias.name.startswith("torch."):
                    if alias.asname:
                        names[alias.asname] = alias.name
                    else:  # `import torch.nn` binds `torch`
                        names["torch"] = "torch"
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "torch":
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _chain(node: ast.Attribute) -> list[str] | None:
    """``a.b.c`` → ``["a", "b", "c"]``; None when the chain does not start at a plain name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


def names_in_source(source: str) -> set[str]:
    """The dotted torch names one module's source uses."""
    tree = ast.parse(source)
    aliases = _aliases(tree)
    used = {name for name in aliases.values() if name != "torch"}
    inner = set()  # Attribute nodes inside a longer chain: only the longest chain counts
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and id(node) not in inner:
            value = node.value
            while isinstance(value, ast.Attribute):
                inner.add(id(value))
                value = value.value
            parts = _chain(node)
            if parts and parts[0] in aliases:
                used.add(".".join([aliases[parts[0]], *parts[1:]]))
    return used


def used_torch_names(package: Path = PACKAGE) -> dict[str, list[str]]:
    """Dotted torch name → the rnnlib files (relative paths) that use it."""
    found: dict[str, list[str]] = {}
    for path in sorted(package.rglob("*.py")):
        for name in names_in_source(path.read_text(encoding="utf-8")):
            found.setdefault(name, []).append(str(path.relative_to(package.parent)))
    return found


def _module_file(root: Path, dotted: str) -> list[Path]:
    base = root.joinpath(*dotted.split("."))
    candidates = [base / "__init__.py", base / "__init__.pyi", base.with_suffix(".py"), base.with_suffix(".pyi")]
    return [path for path in candidates if path.is_file()]


def _top_level_names(root: Path, module: str, seen: set[str]) -> set[str]:
    """Names bound at the top level of ``module`` in a source tree (its .py and .pyi), following
    ``from x import *``; torch's own C functions come from ``torch/_C/_VariableFunctions.pyi``."""
    if module in seen:
        return set()
    seen.add(module)
    names: set[str] = set()
    extra = ["torch._C._VariableFunctions"] if module == "torch" else []
    for path in _module_file(root, module):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):  # any depth: torch binds names under `if`/`try`
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names.update(t.id for t in targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.Import):
                names.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                source = node.module or ""
                if node.level:
                    package = module if path.name.startswith("__init__") else module.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        package = package.rpartition(".")[0]
                    source = f"{package}.{source}".rstrip(".")
                for alias in node.names:
                    if alias.name == "*":
                        extra.append(source)
                    else:
                        names.add(alias.asname or alias.name)
    for source in extra:
        if source.startswith("torch"):
            names |= _top_level_names(root, source, seen)
    return names


def _class_members(root: Path, module: str, cls: str) -> set[str]:
    names: set[str] = set()
    for path in _module_file(root, module):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.name == cls:
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        names.add(item.name)
                    elif isinstance(item, ast.Assign | ast.AnnAssign):
                        targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                        names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def defined_in(root: Path, dotted: str) -> bool:
    """Whether the torch source tree at ``root`` defines ``dotted`` (a module, or a name in one)."""
    parts = dotted.split(".")
    # the longest prefix that is a module of the tree
    for cut in range(len(parts), 0, -1):
        module = ".".join(parts[:cut])
        if _module_file(root, module):
            break
    else:
        return False
    rest = parts[cut:]
    if not rest or rest in (["__file__"], ["__name__"]):  # every module has these
        return True
    if rest[0] not in _top_level_names(root, module, set()):
        return False
    if len(rest) == 1:
        return True
    # Class.attribute: look for the class in the module and in the C stubs (torch.Tensor, torch.dtype...)
    stubs = [module, "torch._C", "torch._tensor", "torch._C._nn"]
    if len(rest) != 2:
        return False
    if any(rest[1] in _class_members(root, m, rest[0]) for m in stubs):
        return True
    # a class re-exported by a package (torch.nn.Module is defined in torch/nn/modules/module.py)
    package = root.joinpath(*module.split("."))
    modules = (".".join(path.relative_to(root).with_suffix("").parts) for path in package.rglob("*.py*"))
    return any(rest[1] in _class_members(root, m.removesuffix(".__init__"), rest[0]) for m in modules)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(__doc__)
        return 2
    root = Path(argv[0])
    used = used_torch_names()
    present = sorted(name for name in used if defined_in(root, name))
    missing = sorted(set(used) - set(present))
    print("defined:")
    for name in present:
        print(f"    {name!r},")
    print("missing:", *(f"{name} ({', '.join(used[name])})" for name in missing), sep="\n    ")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
