"""The contract every model config keeps: composes, instantiates without loading, declares what it can do.

Parametrised over every YAML in conf/model/, so a new model is checked by adding its file.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from functools import cache

import pytest

from modellab.config import CONF_DIR, REPO_ROOT, group_options
from modellab.config.registry import load_component
from modellab.models.base import MissingExtraError, Model
from modellab.run.lab import sweeps
from tests.conftest import run_cli

MODELS = group_options("model")
TASKS = set(group_options("task"))
_PYPROJECT = (REPO_ROOT / "pyproject.toml").read_text()
_EXTRAS_BLOCK = _PYPROJECT.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
EXTRAS = set(re.findall(r"^([A-Za-z0-9_.-]+)\s*=", _EXTRAS_BLOCK, flags=re.M))


@cache
def _model(name: str) -> Model:
    return load_component("model", name)


@cache
def _task(name: str):  # noqa: ANN202
    return load_component("task", name, ["dataset=cards_golden_v1"])


# The families of issue 5 with the status the product gives them.
FAMILY_TABLE = {
    "faster_whisper": "production",
    "faster_whisper_base": "production",
    "whisper": "production",
    "distil_whisper": "experimental",
    "hf_whisper": "candidate",
    "wav2vec2": "candidate",
    "whisper_cpp": "experimental",
    "seamlessm4t": "experimental",
    "lfm2_5_audio": "candidate",
}


@pytest.mark.parametrize("name", MODELS)
def test_model_config_keeps_the_contract(name: str) -> None:
    model = _model(name)
    assert model.name == name, f"conf/model/{name}.yaml: name must match the file name"
    assert model.loaded is False  # the constructor validated config only
    caps = [c.value for c in model.info.capabilities]
    assert caps, f"conf/model/{name}.yaml declares no capabilities"
    assert set(caps) <= TASKS, f"conf/model/{name}.yaml capabilities {caps} name no task in conf/task/"
    for cap in caps:  # info.capabilities is the one declaration; the task checks the adapter's type
        _task(cap).check_model(model)
    assert model.info.license not in ("", "unknown")
    assert model.info.devices and model.info.family != "???"
    if model.info.requires:
        assert model.info.extra in EXTRAS, f"conf/model/{name}.yaml: extra '{model.info.extra}' is not in pyproject"


def test_capabilities_are_declared_once_in_the_yaml_and_checked_before_loading() -> None:
    from modellab.tasks.base import CapabilityError

    model = _model("whisper_cpp")  # conf/model/whisper_cpp.yaml: capabilities [asr]
    assert not any("task_types" in vars(klass) for klass in type(model).__mro__)  # no second declaration
    with pytest.raises(CapabilityError) as err:
        _task("alignment").check_model(model)
    assert str(err.value) == (
        "model 'whisper_cpp' cannot run task 'alignment': its capabilities are ['asr'] "
        "(conf/model/whisper_cpp.yaml info.capabilities)"
    )
    vad_declared = load_component("model", "whisper_cpp", ["model.info.capabilities=[vad]"])
    with pytest.raises(CapabilityError, match=r"\(WhisperCppModel\) is not a VADModel, which task 'vad' needs"):
        _task("vad").check_model(vad_declared)
    assert model.loaded is False and vad_declared.loaded is False


@pytest.mark.parametrize("name", [m for m in MODELS if _model(m).info.requires])
def test_missing_extra_fails_with_the_install_line(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model(name)
    for module in model.info.requires:
        monkeypatch.setitem(sys.modules, module, None)  # `import module` now raises ImportError
    with pytest.raises(MissingExtraError) as err:
        model.check_requirements()
    assert f".venv/bin/pip install -e '.[{model.info.extra}]'" in str(err.value)
    assert name in str(err.value)
    assert not model.requirements_met()


def test_runner_refuses_a_model_without_its_extra_before_loading(run_cell, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "whisper", None)
    with pytest.raises(MissingExtraError, match=r"pip install -e '\.\[whisper\]'"):
        run_cell("+model=whisper", "task=asr", "dataset=cards_golden_v1")


def test_lfm_audio_says_why_it_cannot_install_here() -> None:
    model = _model("lfm2_5_audio")
    if sys.version_info >= (3, 12):
        pytest.skip("liquid-audio may be installed on Python >= 3.12")
    with pytest.raises(MissingExtraError, match=r"Python >= 3\.12.*pip install -e '\.\[lfm_audio\]'"):
        model.check_requirements()


def test_lab_sweeps_only_pair_models_with_tasks_they_declare() -> None:
    for name, overrides in sweeps(str(CONF_DIR / "lab" / "default.yaml")).items():
        opts = dict(o.lstrip("+").split("=", 1) for o in overrides if "=" in o)
        if "model" not in opts:
            continue
        task = opts.get("task", "asr")
        for model_name in opts["model"].split(","):
            caps = [c.value for c in _model(model_name).info.capabilities]
            assert task in caps, f"lab sweep '{name}': {model_name} does not declare {task}"


def test_adapter_modules_import_no_heavy_library() -> None:
    """Constructors stay cheap: importing and instantiating adapters pulls in no ML library."""
    code = (
        "import sys\n"
        "from modellab.config.registry import load_component\n"
        f"for name in {list(FAMILY_TABLE)!r}: load_component('model', name)\n"
        "heavy = ('torch', 'transformers', 'whisper', 'pywhispercpp', 'liquid_audio', 'ctranslate2', 'faster_whisper')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_models_cli_lists_every_family_with_status_and_availability(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = run_cli("modellab.models", "--format", "json")
    assert out.returncode == 0, out.stderr[-2000:]
    rows = {r["model"]: r for r in json.loads(out.stdout)}
    for name, status in FAMILY_TABLE.items():
        assert rows[name]["status"] == status
        assert rows[name]["runs_here"] in ("yes", "no weights", "no extra")
    assert rows["faster_whisper"]["runs_here"] == "yes"
    assert rows["faster_whisper_base"]["runs_here"] == "yes"
    if sys.version_info < (3, 12):
        assert rows["lfm2_5_audio"]["runs_here"] == "no extra"
        assert rows["lfm2_5_audio"]["extra"] == "[lfm_audio] missing"
    import modellab.models.__main__ as cli

    monkeypatch.setattr(cli, "model_rows", lambda import_check=False: list(rows.values()))
    assert cli.main([]) == 0
    table = capsys.readouterr().out
    assert all(f"| {name} " in table for name in FAMILY_TABLE)
