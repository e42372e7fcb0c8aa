"""``python -m modellab.pipeline write|check|sweep NAME``: the DVC pipeline's generator and stage commands.

- ``write``: regenerate ``dvc.yaml`` from ``conf/`` (datasets, ``conf/lab/default.yaml`` sweeps, site).
- ``check``: exit 1 if ``dvc.yaml`` is not what ``write`` would produce.
- ``sweep NAME``: the command of stage ``sweep_NAME`` (run the sweep, write ``results/lab/NAME.json``).
"""

from __future__ import annotations

import argparse
import sys

from modellab.config import REPO_ROOT
from modellab.config.yamlfile import InvalidYAMLError
from modellab.logs import setup_cli_logging
from modellab.pipeline.stages import LAB_CONFIG, PipelineError, pipeline, render

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modellab.pipeline")
    sub = parser.add_subparsers(dest="cmd", required=True)
    for cmd, text in (("write", "regenerate dvc.yaml from conf/"), ("check", "is dvc.yaml current?")):
        p = sub.add_parser(cmd, help=text)
        p.add_argument("--lab", default=LAB_CONFIG, help="lab config with the sweeps (repo-relative)")
        p.add_argument(
            "--datasets",
            choices=["all", "used"],
            default="used",
            help="stages for the datasets the sweeps read (default) or for every embedded dataset",
        )
        p.add_argument("--output", default="dvc.yaml", help="repo-relative path of the pipeline file")
    s = sub.add_parser("sweep", help="run one lab sweep and write results/lab/NAME.json (a stage command)")
    s.add_argument("name")
    s.add_argument("--lab", default=LAB_CONFIG)
    args = parser.parse_args(argv)
    setup_cli_logging()
    try:
        if args.cmd == "sweep":
            from modellab.pipeline.summary import run_sweep

            return run_sweep(args.name, args.lab)
        spec = pipeline(args.lab, args.datasets)
        text = render(spec)
    except (PipelineError, InvalidYAMLError) as exc:
        print(f"modellab.pipeline: {exc}", file=sys.stderr)
        return 2
    path = REPO_ROOT / args.output
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    if args.cmd == "check":
        if current != text:
            print(f"{args.output} is out of date with conf/: run `python -m modellab.pipeline write`", file=sys.stderr)
            return 1
        print(f"{args.output} is current")
        return 0
    if current != text:
        path.write_text(text, encoding="utf-8")
        print(f"{args.output}: written ({len(spec['stages'])} stages)")
    else:
        print(f"{args.output}: unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
