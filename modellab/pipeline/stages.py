"""``dvc.yaml`` from ``conf/``: one stage per embedded dataset, one per lab sweep, then the site.

Nothing is written twice by hand: the stages, their commands, code dependencies (the source
closure of what each stage runs), data dependencies and params (the ``conf/`` YAML files
themselves, so ``dvc exp run -S conf/model/x.yaml:options.beam_size=1`` works) all come from the
configs. ``python -m modellab.pipeline write`` regenerates the file; ``check`` says whether the
committed one is current.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf, open_dict

from modellab.config import CONF_DIR, REPO_ROOT, group_options
from modellab.config.yamlfile import load_yaml, report_invalid_yaml
from modellab.run.codehash import PACKAGE, RUNNER_MODULES, is_ours, source_closure

__all__ = [
    "DATA_ENV",
    "HEADER",
    "LAB_CONFIG",
    "RESULTS_ENV",
    "Cell",
    "PipelineError",
    "expand_sweep",
    "lab_flag",
    "lab_sweeps",
    "pipeline",
    "render",
    "summary_path",
]

LAB_CONFIG = "conf/lab/default.yaml"
TRY_IT = "conf/site/try_it.yaml"  # the site's Try-it page: where the browser_model stage writes the export
BROWSER_EXPORT = "modellab.browser.__main__"  # what the browser_model stage runs
BROWSER_EXPORT_SCRIPT = "modellab/browser/_onnx_export.py"  # run by it in the export venv, so not an import
CORPORA = "data/corpora"  # real corpora, tracked by data.dvc
GROUPS = ("model", "task", "dataset", "device", "preprocessing", "hardware")
# Stage commands pin data and results inside the repository, whatever the caller's environment says.
DATA_ENV = "MODELLAB_DATA_DIR=data"
RESULTS_ENV = "MODELLAB_RESULTS_DIR=results"
HEADER = """\
# Generated from conf/ by `python -m modellab.pipeline write`: do not edit by hand (a test checks
# it is current). Stages: build_<dataset> (the embedded datasets the sweeps read) -> sweep_<name>
# (conf/lab/default.yaml) -> [browser_model, when the lab config sets browser_model: true] -> site.
# Params are the conf/ files themselves; code deps are the source files each stage runs.
"""


class PipelineError(ValueError):
    """The configs cannot be turned into a pipeline; the message names the config."""


@dataclass
class Cell:
    """One expanded cell of a sweep: its overrides and the conf files and data it uses."""

    overrides: list[str]
    conf_files: list[str] = field(default_factory=list)
    data: str | None = None  # repo-relative dataset root
    targets: list[str] = field(default_factory=list)  # every _target_ of the composed config
    dataset: str | None = None  # the dataset's config name


@contextmanager
def _repo_paths() -> Iterator[None]:
    """Compose as a fresh clone would: data and results inside the repository."""
    saved = {k: os.environ.pop(k) for k in ("MODELLAB_DATA_DIR", "MODELLAB_RESULTS_DIR") if k in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def _compose(overrides: list[str]) -> DictConfig:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    report_invalid_yaml()  # a conf file that is not valid YAML: InvalidYAMLError naming it, not a traceback
    GlobalHydra.instance().clear()
    with _repo_paths(), initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=overrides, return_hydra_config=True)


def _relative(path: str | Path) -> str | None:
    """Repo-relative posix path if ``path`` lies inside the repository."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return None


def _targets(node: Any) -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "_target_" and isinstance(value, str):
                out.append(value)
            else:
                out.extend(_targets(value))
    elif isinstance(node, list):
        for value in node:
            out.extend(_targets(value))
    return out


def _modules(targets: list[str]) -> list[str]:
    return sorted({t.rpartition(".")[0] for t in targets if is_ours(t)})


def _repo_files(node: Any, skip: str | None) -> list[str]:
    """Existing files inside the repo named by string values of a config (e.g. sentence files)."""
    out: set[str] = set()
    if isinstance(node, dict):
        for value in node.values():
            out.update(_repo_files(value, skip))
    elif isinstance(node, list):
        for value in node:
            out.update(_repo_files(value, skip))
    elif isinstance(node, str) and node.startswith("/") and Path(node).is_file():
        rel = _relative(node)
        if rel and rel != skip:
            out.add(rel)
    return sorted(out)


def _conf_file(group: str, option: str | None) -> str | None:
    if option is None:
        return None
    path = CONF_DIR / group / f"{option}.yaml"
    return path.relative_to(REPO_ROOT).as_posix() if path.is_file() else None


def lab_sweeps(lab_config: str = LAB_CONFIG) -> dict[str, list[str]]:
    path = REPO_ROOT / lab_config
    if not path.is_file():
        raise PipelineError(f"{lab_config}: lab config not found")
    cfg = load_yaml(path)
    sweeps = cfg.get("sweeps") if isinstance(cfg, DictConfig) else None
    if not isinstance(sweeps, DictConfig) or not sweeps:
        raise PipelineError(f"{lab_config}: needs a 'sweeps' mapping of name -> list of Hydra overrides")
    return {str(name): [str(o) for o in overrides] for name, overrides in sweeps.items()}


def expand_sweep(overrides: list[str]) -> list[list[str]]:
    """The cells of a Hydra multirun (``a=1,2 b=x,y`` -> four override lists), as Hydra's basic sweeper."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    lists = []
    for override in OverridesParser.create().parse_overrides(overrides):
        key = override.get_key_element()
        if override.is_sweep_override():
            if not override.is_discrete_sweep():
                raise PipelineError(f"sweep override '{override.input_line}': only comma lists/choice() are supported")
            lists.append([f"{key}={value}" for value in override.sweep_string_iterator()])
        else:
            lists.append([f"{key}={override.get_value_element_as_str()}"])
    return [list(cell) for cell in itertools.product(*lists)]


def _cell(overrides: list[str]) -> Cell:
    cfg = _compose(overrides)
    choices = dict(cfg.hydra.runtime.choices)
    # the sweeper, launcher and callbacks run too (a custom sweeper decides which cells run)
    hydra_parts = [
        OmegaConf.to_container(cfg.hydra.get(k) or {}, resolve=False) for k in ("sweeper", "launcher", "callbacks")
    ]
    with open_dict(cfg):
        del cfg["hydra"]
    plain = OmegaConf.to_container(cfg, resolve=True)
    if isinstance(plain, dict) and isinstance(plain.get("dataset"), dict):
        plain["dataset"].pop(
            "builder", None
        )  # building is the dataset stage's business: the sweep depends on its output
    files = ["conf/config.yaml"]
    for group in GROUPS:
        files.append(_conf_file(group, choices.get(group)) or "")
    dataset = cfg.get("dataset")
    data = name = None
    if dataset is not None:
        name = dataset.get("name")
        files.append(_conf_file("dataset", name) or "")
        data = _relative(str(dataset.root))
    targets = _targets(plain) + _targets(hydra_parts)
    return Cell(overrides, sorted({f for f in files if f}), data, targets, name)


def _strings(node: Any) -> set[str]:
    if isinstance(node, dict):
        return {s for value in node.values() for s in _strings(value)}
    if isinstance(node, list):
        return {s for value in node for s in _strings(value)}
    return {node} if isinstance(node, str) else set()


def _dataset_stage(name: str, datasets: list[str]) -> tuple[str, dict[str, Any], list[str]] | None:
    """The stage building ``name``, and the other datasets its builder reads (by config name)."""
    cfg = _compose([f"dataset={name}"])
    node = OmegaConf.to_container(cfg.dataset, resolve=True)
    if not isinstance(node, dict) or not node.get("builder"):
        return None  # not embedded: real corpora (data.dvc) and hub datasets are not built by the pipeline
    out = _relative(node["root"])
    if out is None:
        raise PipelineError(f"conf/dataset/{name}.yaml: root {node['root']} is outside the repository")
    deps = source_closure(["modellab.datasets.__main__", *_modules(_targets(node))])
    deps += [f for f in _repo_files(node, skip=None) if f not in deps]
    sources = sorted(_strings(node["builder"]) & set(datasets) - {name})
    stage = {
        "cmd": f"{DATA_ENV} python -m modellab.datasets build {name}",
        "deps": deps,
        "params": [{f"conf/dataset/{name}.yaml": None}],
        "outs": [out],
    }
    return f"build_{name}", stage, sources


def _dataset_stages(
    names: list[str], wanted: list[str] | list[Cell]
) -> tuple[dict[str, Any], dict[str, str], dict[str, list[str]]]:
    """The build stages of ``wanted`` (dataset names, or the cells whose datasets to build) and of the
    datasets they are built from: (stages, dataset -> output folder, dataset -> its source datasets).

    Composing a config costs ~0.15 CPU-s, so given cells only their datasets are composed, not all of
    ``conf/dataset``; should a cell read a folder outside ``data/corpora`` that no composed dataset
    writes (one nested in another's output), every dataset is composed, as before."""
    todo = list(dict.fromkeys(w.dataset if isinstance(w, Cell) else w for w in wanted))
    found: dict[str, tuple[str, dict[str, Any], list[str]]] = {}
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or name not in names:
            continue
        seen.add(name)
        stage = _dataset_stage(name, names)
        if stage is not None:
            found[name] = stage
            todo.extend(stage[2])
    outs = {stage["outs"][0] for _, stage, _ in found.values()}
    cells = [w for w in wanted if isinstance(w, Cell) and w.data]
    if any(c.data not in outs and not (c.data or "").startswith(CORPORA) for c in cells):
        return _dataset_stages(names, names)
    ordered = [name for name in names if name in found]  # conf/dataset order
    stages = {found[name][0]: found[name][1] for name in ordered}
    built = {name: found[name][1]["outs"][0] for name in ordered}
    return stages, built, {name: found[name][2] for name in ordered}


def summary_path(sweep: str) -> str:
    return f"results/lab/{sweep}.json"


def _sweep_stage(name: str, cells: list[Cell], built: dict[str, str], lab_config: str) -> tuple[str, dict[str, Any]]:
    conf_files = sorted({f for c in cells for f in c.conf_files})
    # the code of its cells (as the cell key sees it: what they instantiate and the runner) and the entry points
    entry = ["modellab.__main__", "modellab.pipeline.__main__", *RUNNER_MODULES]
    modules = [*entry, *_modules([t for c in cells for t in c.targets])]
    data = []
    for cell in cells:
        if cell.data is None:
            continue
        # a built dataset depends on its stage's output; a corpus on its folder under data/corpora
        dep = next((out for out in built.values() if cell.data == out or cell.data.startswith(out + "/")), cell.data)
        if dep not in data:
            data.append(dep)
    lab_arg = "" if lab_config == LAB_CONFIG else f" --lab {lab_config}"
    return f"sweep_{name}", {
        "cmd": f"python -m modellab.pipeline sweep {name}{lab_arg}",
        "deps": source_closure(modules) + sorted(data),
        "params": [{lab_config: [f"sweeps.{name}"]}, *({f: None} for f in conf_files)],
        "metrics": [{summary_path(name): {"cache": True}}],
    }


def lab_flag(name: str, lab_config: str = LAB_CONFIG) -> bool:
    """Whether the lab config sets ``name: true`` (an optional stage it asks for, e.g. ``browser_model``)."""
    cfg = load_yaml(REPO_ROOT / lab_config)
    value = cfg.get(name) if isinstance(cfg, DictConfig) else None
    if value is not None and not isinstance(value, bool):
        raise PipelineError(f"{lab_config}: '{name}' must be true or false, got {value!r}")
    return bool(value)


def _browser_model_stage() -> tuple[str, dict[str, Any]]:
    """The ONNX export the site's Try-it page serves: command and output folder from :data:`TRY_IT`."""
    settings = load_yaml(REPO_ROOT / TRY_IT)
    if not isinstance(settings, DictConfig):
        raise PipelineError(f"{TRY_IT}: must be a mapping")
    out, cmd = str(settings.get("export") or ""), str(settings.get("export_command") or "")
    if not out or Path(out).is_absolute() or not cmd:
        raise PipelineError(f"{TRY_IT}: needs a repo-relative 'export' folder and its 'export_command'")
    return "browser_model", {
        "cmd": cmd,
        "deps": sorted({*source_closure([BROWSER_EXPORT]), BROWSER_EXPORT_SCRIPT}),
        "params": [{TRY_IT: ["export", "export_command"]}],
        "outs": [out],
    }


def _site_stage(sweeps: list[str], built: dict[str, str], extra: list[str] | None = None) -> tuple[str, dict[str, Any]]:
    # The site renders the whole registry (every model, task and dataset config, instantiated
    # through its adapter), so its code is the package itself and its params every conf group.
    deps = [PACKAGE] + [f"conf/{group}" for group in (*GROUPS, "site")]
    deps += sorted(built.values()) + [CORPORA] + [summary_path(s) for s in sweeps] + (extra or [])
    return "site", {
        "cmd": f"{DATA_ENV} {RESULTS_ENV} python -m modellab.site",
        "deps": deps,
        "outs": [{"site": {"cache": False, "persist": True}}],
    }


def pipeline(lab_config: str = LAB_CONFIG, datasets: str = "used") -> dict[str, Any]:
    """The ``dvc.yaml`` mapping.

    ``datasets='used'`` (the default) builds the datasets the sweeps read (and those they are made
    from): the leaderboard needs no more, and the lab stays within its time budget; the others
    build on first use (``python -m modellab.datasets build --all`` builds them all).
    ``datasets='all'`` makes a stage of every embedded dataset.
    """
    if datasets not in ("all", "used"):
        raise PipelineError(f"datasets must be 'all' or 'used', got {datasets!r}")
    sweeps = lab_sweeps(lab_config)
    cells = {name: [_cell(c) for c in expand_sweep(overrides)] for name, overrides in sweeps.items()}
    names = [n for n in group_options("dataset") if not n.startswith("default_")]
    if datasets == "used":
        stages, built, sources = _dataset_stages(names, [c for sweep in cells.values() for c in sweep])
    else:
        stages, built, sources = _dataset_stages(names, names)
    for name, used in sources.items():  # a dataset made from other datasets depends on their outputs
        missing = [u for u in used if u not in built]
        if missing:
            raise PipelineError(f"conf/dataset/{name}.yaml: builds from {missing}, which the pipeline cannot build")
        stages[f"build_{name}"]["deps"] += [built[u] for u in used]
    sweep_stages = {}
    for name in sweeps:
        stage_name, stage = _sweep_stage(name, cells[name], built, lab_config)
        sweep_stages[stage_name] = stage
    if datasets == "used":
        outs = {d for s in sweep_stages.values() for d in s["deps"] if d.startswith("data/")}
        keep = [name for name in built if built[name] in outs]
        for name in keep:  # and what they are built from
            keep.extend(u for u in sources[name] if u not in keep)
        for name in list(built):
            if name not in keep:
                del stages[f"build_{name}"], built[name]
    stages.update(sweep_stages)
    extra = []
    if lab_flag("browser_model", lab_config):  # the Try-it page's model files, copied into the site
        stage_name, stages[stage_name] = _browser_model_stage()
        extra = list(stages[stage_name]["outs"])
    site_name, site = _site_stage(list(sweeps), built, extra)
    stages[site_name] = site
    return {"stages": stages}


def render(spec: dict[str, Any]) -> str:
    return HEADER + yaml.safe_dump(spec, sort_keys=False, width=120, default_flow_style=False)
