"""``python -m modellab.browser export [--out DIR] [--source DIR]``: the transformers.js model folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from modellab.browser.export import ExportError, export_browser_model

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modellab.browser", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="ONNX export of tiny.en for transformers.js (offline, cached)")
    export.add_argument("--out", type=Path, default=None, help="default: ~/.cache/modellab/browser/whisper-tiny.en")
    export.add_argument("--source", type=Path, default=None, help="default: ~/.cache/modellab/converted/hf-tiny.en")
    args = parser.parse_args(argv)
    try:
        out = export_browser_model(args.out, args.source)
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
