#!/usr/bin/env bash
# Sets up everything modellab needs on a fresh Debian machine: system packages, a virtual
# environment at .venv, the project with its extras, and the offline weights packages.
# Idempotent and quick when nothing changed (a stamp records what was installed).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(espeak-ng ffmpeg sox pocketsphinx-testdata chromium chromium-driver git asterisk-core-sounds-{en,fr,es,it,ru}-wav asterisk-core-sounds-{en,fr,es,it,ru} sctk)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# Node.js with npm for the browser runtime's pinned packages (any Node.js >= 18 already on the machine will do)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "[setup] apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.modellab-setup
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "[setup] installing Python packages into .venv"
  .venv/bin/pip install -q --upgrade pip
  # The CPU build of torch that lies on this machine's disk; a looser spec pulls a multi-GB CUDA build.
  .venv/bin/pip install -q "torch==2.13.0"
  .venv/bin/pip install -q -e ".[all,dev]"
  # Installed without their declared dependencies, on purpose (see README "Installation notes"):
  #  - resemblyzer declares webrtcvad (a source build); webrtcvad-wheels provides the same module.
  #  - pyannote.audio 4.0.7 declares torchaudio/torchcodec, whose wheels pull a CUDA torch that
  #    fails beside the CPU torch here; its other dependencies are listed in the [diarization] extra.
  .venv/bin/pip install -q --no-deps "resemblyzer==0.1.4" "pyannote.audio==4.0.7"
  #  - openai-whisper declares triton (~290 MB of GPU kernels, unused on CPU); its light deps are
  #    in the [whisper-light] extra (part of [all]).
  .venv/bin/pip install -q --no-deps "openai-whisper==20250625"
  #  - hydra-ray-launcher pins cloudpickle<3 (pip would downgrade joblib below 1.6) and declares
  #    boto3 and ray[default] for its AWS launcher; the local/cluster launcher needs only ray
  #    (the [ray] extra, part of [all]).
  .venv/bin/pip install -q --no-deps "hydra-ray-launcher==1.2.2"
  #  - torchaudio 2.11.0 (the newest on PyPI) pins torch==2.11.0 and its native libraries link
  #    libtorch_cuda.so, so `import torchaudio` fails beside CPU torch 2.13. pyannote.audio (and
  #    torch-audiomentations / torch-pitch-shift, which it imports) only use torchaudio's
  #    pure-Python parts (kaldi fbank, resample, MFCC): install them without deps and drop
  #    torchaudio's native libraries, which it then skips (torchaudio._extension finds none).
  .venv/bin/pip install -q --no-deps "torchaudio==2.11.0" "torch-audiomentations==0.12.0" "torch-pitch-shift==1.2.5"
  rm -f "$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"/torchaudio/lib/*.so
  echo "$want" > "$stamp"
fi
# The folder of real corpora, tracked by data.dvc (empty in a fresh clone; git keeps no empty
# folders and `dvc repro` verifies it): `dvc pull` fills it from your remote.
mkdir -p data/corpora
# faster-whisper's tiny.en rewritten for openai-whisper, whisper.cpp and transformers (the
# whisper, whisper_cpp and hf_whisper configs), once: the same real weights in three runtimes.
converted="${MODELLAB_CACHE_DIR:-$HOME/.cache/modellab}/converted"
if [ ! -f "$converted/ggml-tiny.en.bin" ] || [ ! -d "$converted/hf-tiny.en" ]; then
  echo "[setup] converting tiny.en for openai-whisper, whisper.cpp and transformers"
  .venv/bin/python -m modellab.tools.convert faster_whisper >/dev/null
fi
# The browser runtime (browser_whisper, the site's Try-it page): transformers.js pinned by its lock file,
# installed from the npm registry (no CDN at run time), and tiny.en exported to ONNX once (its own venv).
web=modellab/browser/web
if [ "$(cat "$web/node_modules/.modellab-lock" 2>/dev/null)" != "$(sha256sum < "$web/package-lock.json")" ]; then
  echo "[setup] npm ci in $web"
  npm ci --prefix "$web" --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
  sha256sum < "$web/package-lock.json" > "$web/node_modules/.modellab-lock"
fi
.venv/bin/python -m modellab.browser export >/dev/null  # ~3-5 min the first time, then a check of its stamp
echo "[setup] ready: .venv ($(.venv/bin/python --version))"
