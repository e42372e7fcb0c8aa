"""``python -m modellab.models``: the model registry as a table, with what can run here.

``extra`` says whether the import names a model ``requires`` are installed (found on the path;
``--check-imports`` imports them instead, slower, and catches installs that are present but
broken). ``runs_here`` is ``yes`` when the extra is there and the weights are on this machine.

``--markdown`` prints the README's model table (between ``<!-- models:start -->`` and
``<!-- models:end -->``), generated from the registry; ``tests/test_readme_models.py`` fails when
the README's copy differs from it in anything but the machine-dependent ``runs here?`` column.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys

from modellab.config.registry import iter_models
from modellab.config.yamlfile import run_reporting_config_errors

__all__ = ["MARKDOWN_HEADERS", "RUNS_HERE_HEADER", "main", "markdown_table", "model_rows"]


def _weights_present(model) -> bool:  # noqa: ANN001
    w = model.weights
    if w.source == "package":
        return importlib.util.find_spec(w.package) is not None
    if w.source == "package_parts":
        return all(importlib.util.find_spec(p) is not None for p in w.packages)
    if w.source in ("builtin", "none"):
        return True
    from modellab.models.weights import WeightsNotFoundError, resolve_weights

    try:
        resolve_weights(w, model.name)
    except WeightsNotFoundError:
        return False
    return True


def _installed(model, import_check: bool) -> bool:  # noqa: ANN001
    if import_check:
        return model.requirements_met()
    check_python = getattr(model, "check_python", None)  # adapters with interpreter limits (liquid-audio)
    if check_python is not None:
        try:
            check_python()
        except Exception:  # noqa: BLE001 - any refusal means "cannot run here"
            return False
    return all(importlib.util.find_spec(name.split(".")[0]) is not None for name in model.info.requires)


def _runs_here(model, extra_ok: bool) -> str:  # noqa: ANN001
    weights_ok = _weights_present(model)
    return "yes" if (extra_ok and weights_ok) else ("no weights" if extra_ok else "no extra")


def model_rows(import_check: bool = False) -> list[dict[str, object]]:
    rows = []
    for m in iter_models():
        extra_ok = _installed(m, import_check)
        rows.append(
            {
                "model": m.name,
                "family": m.info.family,
                "capabilities": ",".join(c.value for c in m.info.capabilities),
                "status": m.info.status.value,
                "devices": ",".join(m.info.devices),
                "license": m.info.license,
                "params": m.info.parameters or "",
                "weights": m.weights.source + (f":{m.weights.repo_id}" if m.weights.repo_id else ""),
                "extra": (f"[{m.info.extra}]" if m.info.extra else "-") + ("" if extra_ok else " missing"),
                "runs_here": _runs_here(m, extra_ok),
            }
        )
    return rows


RUNS_HERE_HEADER = "runs here?"
MARKDOWN_HEADERS = (
    "config",
    "family (adapter)",
    "weights",
    "params",
    "licence",
    "status",
    "tasks",
    "extra",
    RUNS_HERE_HEADER,
)


def _weights_source(model) -> str:  # noqa: ANN001
    """Where the weights come from, without machine-specific paths (those vary by ``$HOME``)."""
    w = model.weights
    if w.source == "package":
        return f"package `{w.package}`"
    if w.source == "package_parts":
        return "packages " + " + ".join(f"`{p}`" for p in w.packages)
    if w.source == "hub":
        return f"hub `{w.repo_id}`"
    if w.source == "local":
        return "local file" + (f" ({w.revision})" if w.revision else "")
    return w.source


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: list[dict[str, object]]) -> str:
    """A GitHub markdown table of ``rows`` (dicts keyed by :data:`MARKDOWN_HEADERS`)."""
    lines = ["| " + " | ".join(MARKDOWN_HEADERS) + " |", "|" + "---|" * len(MARKDOWN_HEADERS)]
    lines += ["| " + " | ".join(_cell(row[h]) for h in MARKDOWN_HEADERS) + " |" for row in rows]
    return "\n".join(lines)


def markdown_rows(import_check: bool = False) -> list[dict[str, object]]:
    """One row per ``conf/model/*.yaml`` for the README table."""
    rows = []
    for m in iter_models():
        adapter = type(m).__module__.rsplit(".", 1)[-1] + ".py"
        rows.append(
            {
                "config": f"`{m.name}`",
                "family (adapter)": f"{m.info.family} (`{adapter}`)",
                "weights": _weights_source(m),
                "params": m.info.parameters or "",
                "licence": m.info.license,
                "status": m.info.status.value,
                "tasks": ", ".join(c.value for c in m.info.capabilities),
                "extra": f"`{m.info.extra}`" if m.info.extra else "-",
                RUNS_HERE_HEADER: _runs_here(m, _installed(m, import_check)),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    """The command; a config that cannot be loaded (not valid YAML, not the schema) is one line, exit 2."""
    return run_reporting_config_errors("python -m modellab.models", _run, argv)


def _run(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modellab.models")
    parser.add_argument("--format", choices=["table", "json"], default="table")
    parser.add_argument("--markdown", action="store_true", help="the README's model table (markdown)")
    parser.add_argument(
        "--check-imports", action="store_true", help="import each extra (slower, catches broken installs)"
    )
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown_table(markdown_rows(import_check=args.check_imports)))
        return 0
    rows = model_rows(import_check=args.check_imports)
    if args.format == "json":
        print(json.dumps(rows, indent=1))
    else:
        from tabulate import tabulate

        print(tabulate(rows, headers="keys", tablefmt="github"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
