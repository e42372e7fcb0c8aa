"""The package's layers import downward only (README "Where things live").

Every ``import modellab.X`` / ``from modellab.X import`` in the package, at module level or inside a
function, is checked against the layer order below: a module may import its own package and any
package of a lower layer, never one of the same or a higher layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "modellab"

# Lowest first. Packages on one line share a layer and may not import each other.
LAYERS: list[tuple[str, ...]] = [
    ("types", "logs"),
    ("device",),
    ("config",),
    ("audio",),
    ("browser",),  # the in-browser runtime's export and page (under models/browser_whisper.py)
    ("metrics", "preprocessing", "results"),
    ("datasets", "models"),
    ("tasks", "tools"),
    ("run", "app", "pipeline"),
    ("analysis",),
    ("site",),
    ("__main__", "plugins"),
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
# run/ and app.py are one layer that calls itself both ways (app builds cells for run/rescore,
# the runner runs them); the pipeline computes cell keys from both.
SAME_LAYER_ALLOWED = {("run", "app"), ("app", "run"), ("pipeline", "app"), ("pipeline", "run")}


def _unit(module: str) -> str:
    """'modellab.metrics.wer' -> 'metrics'; 'modellab.app' -> 'app'; 'modellab' -> 'types' (version only)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "types"


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.startswith("modellab")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("modellab"):
            found.append((node.lineno, node.module or ""))
    return found


def _violations(package: Path = PACKAGE) -> list[str]:
    bad = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        src = rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 or rel.stem != "__init__" else "types"
        for lineno, module in _imports(path):
            dst = _unit(module)
            if dst == src or (src, dst) in SAME_LAYER_ALLOWED:
                continue
            if RANK[dst] >= RANK[src]:
                bad.append(f"modellab/{rel}:{lineno} ({src}) imports {module} ({dst}): not a lower layer")
    return bad


def test_every_package_is_placed_in_a_layer() -> None:
    units = {p.name.removesuffix(".py") for p in PACKAGE.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    units.discard("__init__")
    units |= {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name == "plugins"}
    assert sorted(units - set(RANK)) == [], "add the new package or module to LAYERS"


def test_layers_import_downward_only() -> None:
    assert _violations() == []


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    """A metric importing the site, even inside a function, is reported (the rule is not vacuous)."""
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "bad.py").write_text("def f():\n    from modellab.site.build import build_site\n")
    (tmp_path / "metrics" / "good.py").write_text(
        "from modellab.types import Audio\nfrom modellab.metrics import wer\n"
    )
    assert _violations(tmp_path) == [
        "modellab/metrics/bad.py:2 (metrics) imports modellab.site.build (site): not a lower layer"
    ]
