"""``python -m modellab.models``: the model registry as a table, with what can run here.

``extra`` says whether the import names a model ``requires`` are installed (found on the path;
``--check-imports`` imports them instead, slower, and catches installs that are present but
broken). ``runs_here`` is ``yes`` when the extra is there and the weights are on this machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys

from modellab.config.registry import iter_models

__all__ = ["main", "model_rows"]


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


def model_rows(import_check: bool = False) -> list[dict[str, object]]:
    rows = []
    for m in iter_models():
        extra_ok = _installed(m, import_check)
        weights_ok = _weights_present(m)
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
                "runs_here": "yes" if (extra_ok and weights_ok) else ("no weights" if extra_ok else "no extra"),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modellab.models")
    parser.add_argument("--format", choices=["table", "json"], default="table")
    parser.add_argument(
        "--check-imports", action="store_true", help="import each extra (slower, catches broken installs)"
    )
    args = parser.parse_args(argv)
    rows = model_rows(import_check=args.check_imports)
    if args.format == "json":
        print(json.dumps(rows, indent=1))
    else:
        from tabulate import tabulate

        print(tabulate(rows, headers="keys", tablefmt="github"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
