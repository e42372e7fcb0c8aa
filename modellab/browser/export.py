"""An ONNX export of a transformers Whisper folder in the layout transformers.js loads, made offline.

The lab's transformers copy of tiny.en (``python -m modellab.tools.convert faster_whisper`` ->
``~/.cache/modellab/converted/hf-tiny.en``) is exported with optimum-onnx in a virtualenv of its
own (``~/.cache/modellab/onnx-export-venv``: optimum-onnx 0.1.0 needs transformers<4.58, the lab's
.venv has 5.x), made on first use from the pinned ``EXPORT_REQUIREMENTS``::

    python -m modellab.browser export              # -> ~/.cache/modellab/browser/whisper-tiny.en

The folder: config.json, generation_config.json, preprocessor_config.json, tokenizer.json (+
tokenizer_config.json ...), onnx/encoder_model.onnx, onnx/decoder_model_merged.onnx and their
int8 ``*_quantized.onnx`` twins (transformers.js ``dtype: "q8"``). A second call with the same
source and pins returns the folder as it is (``EXPORT_STAMP`` records what made it).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

__all__ = [
    "EXPORT_REQUIREMENTS",
    "EXPORT_STAMP",
    "ExportError",
    "browser_cache_dir",
    "default_model_dir",
    "default_source_dir",
    "export_browser_model",
    "export_venv",
]

EXPORT_REQUIREMENTS = (
    "torch==2.13.0",  # the CPU wheel on this disk
    "optimum-onnx==0.1.0",
    "transformers==4.57.6",
    "accelerate==1.16.0",  # optimum's shared-weight deduplication (the tied token embedding, stored once)
    "onnx==1.23.2",
    "onnxruntime==1.32.0",
)
EXPORT_STAMP = "modellab_export.json"
MODEL_ID = "whisper-tiny.en"
_SCRIPT = Path(__file__).with_name("_onnx_export.py")


class ExportError(RuntimeError):
    """The export cannot run; the message names what is missing and the command that makes it."""


def _cache_root() -> Path:
    env = os.environ.get("MODELLAB_CACHE_DIR")  # as modellab.models.weights.default_cache_dir
    return Path(env) if env else Path.home() / ".cache" / "modellab"


def browser_cache_dir() -> Path:
    return _cache_root() / "browser"


def default_source_dir() -> Path:
    return _cache_root() / "converted" / "hf-tiny.en"


def default_model_dir() -> Path:
    return browser_cache_dir() / MODEL_ID


def export_venv(venv: Path | None = None) -> Path:
    """The export virtualenv's python, made (``python -m venv`` + pinned pip install) if missing or
    if its pins differ from ``EXPORT_REQUIREMENTS``."""
    venv = venv or _cache_root() / "onnx-export-venv"
    python = venv / "bin" / "python"
    marker = venv / "modellab-requirements.txt"
    wanted = "\n".join(EXPORT_REQUIREMENTS)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    if not python.exists():
        _check_call([sys.executable, "-m", "venv", str(venv)], "making the export virtualenv")
    _check_call([str(python), "-m", "pip", "install", "-q", *EXPORT_REQUIREMENTS], f"pip install into {venv}")
    marker.write_text(wanted)
    return python


def _check_call(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise ExportError(f"{what} failed (exit {done.returncode}): {' '.join(command)}\n{tail}")


def _source_identity(source: Path) -> dict[str, object]:
    files = sorted(p for p in source.iterdir() if p.is_file())
    return {
        "source": str(source),
        "files": {p.name: [p.stat().st_size, int(p.stat().st_mtime)] for p in files},
        "requirements": list(EXPORT_REQUIREMENTS),
        "script_sha256": hashlib.sha256(_SCRIPT.read_bytes()).hexdigest(),
    }


def _check_source(source: Path) -> None:
    needed = ("config.json", "model.safetensors", "tokenizer.json")
    missing = [name for name in needed if not (source / name).exists()]
    if missing:
        raise ExportError(
            f"{source}: no transformers Whisper folder here (missing {', '.join(missing)}). "
            "Make it with: .venv/bin/python -m modellab.tools.convert faster_whisper"
        )


def export_browser_model(out_dir: Path | None = None, source: Path | None = None) -> Path:
    """The transformers.js folder for ``source`` (default: the lab's converted tiny.en) at ``out_dir``
    (default ``~/.cache/modellab/browser/whisper-tiny.en``); exported only if it is not there yet."""
    source = Path(source or default_source_dir()).expanduser()
    out_dir = Path(out_dir or default_model_dir()).expanduser()
    _check_source(source)
    identity = _source_identity(source)
    if _is_export_of(out_dir, identity):
        return out_dir
    cached = default_model_dir()
    if out_dir.resolve() != cached.resolve() and _is_export_of(cached, identity):
        _link_tree(cached, out_dir)  # setup already exported it: the pipeline's copy costs no export
        return out_dir
    python = export_venv()
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    _remove(tmp)
    tmp.mkdir(parents=True)
    start = time.perf_counter()
    _check_call([str(python), str(_SCRIPT), str(source), str(tmp)], f"exporting {source} to ONNX")
    seconds = time.perf_counter() - start
    (tmp / EXPORT_STAMP).write_text(json.dumps({"identity": identity, "export_s": round(seconds, 1)}, indent=1))
    _remove(out_dir)
    tmp.replace(out_dir)
    return out_dir


def _is_export_of(folder: Path, identity: dict[str, object]) -> bool:
    stamp = folder / EXPORT_STAMP
    return stamp.exists() and json.loads(stamp.read_text()).get("identity") == identity


def _link_tree(src: Path, dest: Path) -> None:
    """``dest`` as a copy of ``src`` made of hard links where the file system allows (else copies)."""
    import shutil

    def link_or_copy(from_path: str, to_path: str) -> None:
        try:
            os.link(from_path, to_path)
        except OSError:
            shutil.copy2(from_path, to_path)

    tmp = dest.with_name(dest.name + ".tmp")
    _remove(tmp)
    shutil.copytree(src, tmp, copy_function=link_or_copy)
    _remove(dest)
    tmp.replace(dest)


def _remove(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
