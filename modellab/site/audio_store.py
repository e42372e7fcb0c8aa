"""The site's audio, stored once: ``audio/<sha256 of the file's bytes>.<ext>``, encoded as Opus.

Run pages, compare pages and the MOS listening test all refer to the same file whatever page or
run shows it (the same input clip on twenty run pages is one file). Encoding is ffmpeg's
``libopus`` (mono, :data:`OPUS_BITRATE`); where ffmpeg lacks it, MP3 (``libmp3lame``) with a log
line; where neither works (no ffmpeg, a file ffmpeg cannot read) the original bytes are copied,
also said in the log. Encoded files are kept in a cache outside the site (:func:`cache_dir`),
keyed by content and encoder settings, so a rebuild (which empties the site) copies instead of
encoding again. :func:`prepare_audio` encodes a page type's files up front, many per ffmpeg call
(its start costs more than encoding a short clip), side by side on the usable cores.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "AUDIO_DIR",
    "AUDIO_SUFFIXES",
    "MAX_AUDIO_BYTES",
    "OPUS_BITRATE",
    "Encoder",
    "cache_dir",
    "content_hash",
    "encoder",
    "prepare_audio",
    "store_audio",
]

logger = logging.getLogger(__name__)

AUDIO_DIR = "audio"
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".webm")
MAX_AUDIO_BYTES = 20 * 2**20  # larger files are left out of the site
OPUS_BITRATE = "32k"  # mono speech: near-transparent, about 4 KB per second
MP3_BITRATE = "64k"
CACHE_ENV = "MODELLAB_SITE_AUDIO_CACHE"
BATCH = 24  # files per ffmpeg call: its start (~0.1 s of CPU) costs more than encoding a short clip


@dataclass(frozen=True)
class Encoder:
    """How the site encodes audio: a file suffix and ffmpeg's output arguments (None: copy as is)."""

    suffix: str
    args: tuple[str, ...] | None
    muxer: str = ""

    @property
    def key(self) -> str:
        """What the cached output depends on besides the input bytes."""
        return hashlib.sha256(" ".join((self.suffix, *(self.args or ()))).encode()).hexdigest()[:8]


_BITEXACT = ("-fflags", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1")
OPUS = Encoder(
    ".opus",
    (
        "-ac",
        "1",
        "-c:a",
        "libopus",
        "-b:a",
        OPUS_BITRATE,
        "-compression_level",
        "5",
        "-application",
        "audio",
        *_BITEXACT,
    ),
    "opus",
)
MP3 = Encoder(".mp3", ("-ac", "1", "-c:a", "libmp3lame", "-b:a", MP3_BITRATE, *_BITEXACT), "mp3")


@functools.lru_cache(maxsize=1)
def encoder() -> Encoder | None:
    """Opus where ffmpeg has ``libopus``, else MP3 (logged), else None (copy the files as they are; logged)."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        logger.warning("[site] ffmpeg not found: audio is copied into the site unencoded (install ffmpeg for Opus)")
        return None
    try:
        listed = subprocess.run([ffmpeg, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        logger.warning("[site] ffmpeg -encoders failed (%s): audio is copied into the site unencoded", exc)
        return None
    names = {line.split()[1] for line in listed.stdout.splitlines() if len(line.split()) > 1}
    if "libopus" in names:
        return OPUS
    if "libmp3lame" in names:
        logger.warning("[site] ffmpeg has no libopus encoder: the site's audio is encoded as MP3 instead")
        return MP3
    logger.warning("[site] ffmpeg has neither libopus nor libmp3lame: audio is copied into the site unencoded")
    return None


def cache_dir() -> Path:
    """Where encoded files are kept between builds: ``$MODELLAB_SITE_AUDIO_CACHE``, else
    ``$XDG_CACHE_HOME/modellab/site-audio`` (``~/.cache/modellab/site-audio``)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "modellab" / "site-audio"


@functools.lru_cache(maxsize=4096)
def _hash(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def content_hash(path: Path) -> str:
    """sha256 of the file's bytes (hex; remembered per path, size and modification time)."""
    stat = path.stat()
    return _hash(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


def _audio_file(source: str | None) -> Path | None:
    """``source`` (absolute, relative to the working folder or to the repository) as a path when it is
    an existing audio file of at most :data:`MAX_AUDIO_BYTES`."""
    if not source:
        return None
    path = Path(source)
    if path.suffix.lower() not in AUDIO_SUFFIXES:
        return None
    if not path.is_absolute() and not path.exists():  # stored artifacts are relative to the repository
        from modellab.config import REPO_ROOT

        path = REPO_ROOT / path
    try:
        size = path.stat().st_size
    except OSError:
        return None
    return path if 0 < size <= MAX_AUDIO_BYTES else None


def _put(dest: Path, write: Callable[[Path], object]) -> None:
    """Write ``dest`` through a temporary file renamed into place (page workers may write the same file at once)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(f".{dest.name}.{os.getpid()}.{threading.get_ident()}.partial")
    try:
        write(partial)
        os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)


def _cached(digest: str, enc: Encoder) -> Path:
    return cache_dir() / digest[:2] / f"{digest}-{enc.key}{enc.suffix}"


def _failed_marker(digest: str, enc: Encoder) -> Path:
    """Left in the cache when ffmpeg cannot encode a file, so later builds copy it without trying again."""
    return cache_dir() / digest[:2] / f"{digest}-{enc.key}.failed"


def _ffmpeg(pairs: Sequence[tuple[Path, Path]], enc: Encoder) -> None:
    """Encode each (source, output) pair in one ffmpeg process (one start for many short clips)."""
    assert enc.args is not None, "an encoder with arguments"
    command = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    for source, _ in pairs:
        command += ["-i", str(source)]
    for index, (_, out) in enumerate(pairs):
        command += ["-map", f"{index}:a:0", *enc.args, "-f", enc.muxer, str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60 + 10 * len(pairs))
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip()[-300:] or f"ffmpeg exit code {done.returncode}")


def _encode_batch(jobs: Sequence[tuple[Path, str]], enc: Encoder) -> None:
    """Encode (source, digest) jobs into the cache: all in one ffmpeg call, one by one when that fails
    (so one unreadable file is found and marked, and the others still encode)."""
    outputs = [(source, _cached(digest, enc)) for source, digest in jobs]
    partials = [
        (source, out.with_name(f".{out.name}.{os.getpid()}.{threading.get_ident()}.partial")) for source, out in outputs
    ]
    for _, out in outputs:
        out.parent.mkdir(parents=True, exist_ok=True)
    try:
        _ffmpeg(partials, enc)
        for (_, partial), (_, out) in zip(partials, outputs, strict=True):
            os.replace(partial, out)
        return
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        if len(jobs) == 1:
            logger.warning("[site] %s: could not encode as %s (%s); copied as it is", jobs[0][0], enc.suffix, exc)
            _failed_marker(jobs[0][1], enc).write_text(str(exc))
    finally:
        for _, partial in partials:
            partial.unlink(missing_ok=True)
    if len(jobs) > 1:
        for job in jobs:
            _encode_batch([job], enc)


def prepare_audio(sources: Iterable[str | None], batch: int = BATCH) -> int:
    """Encode into the cache, in a few ffmpeg calls run side by side, the files of ``sources`` that
    are not there yet; :func:`store_audio` then only copies. Returns how many were encoded."""
    enc = encoder()
    if enc is None or not enc.args:
        return 0
    todo: dict[str, Path] = {}
    for source in sources:
        path = _audio_file(source)
        if path is None:
            continue
        digest = content_hash(path)
        if digest not in todo and not _cached(digest, enc).is_file() and not _failed_marker(digest, enc).is_file():
            todo[digest] = path
    jobs = [(path, digest) for digest, path in todo.items()]
    chunks = [jobs[i : i + batch] for i in range(0, len(jobs), batch)]
    with ThreadPoolExecutor(max_workers=max(1, min(_cores(), len(chunks) or 1))) as pool:
        list(pool.map(lambda chunk: _encode_batch(chunk, enc), chunks))
    return len(jobs)


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _encoded(path: Path, digest: str) -> tuple[Path, str]:
    """(the file to copy into the site, its suffix): the cached encoding, made now if missing; the
    original where there is no encoder or ffmpeg failed on it."""
    enc = encoder()
    if enc is None or not enc.args or _failed_marker(digest, enc).is_file():
        return path, path.suffix.lower()
    cached = _cached(digest, enc)
    if not cached.is_file():
        _encode_batch([(path, digest)], enc)
    return (cached, enc.suffix) if cached.is_file() else (path, path.suffix.lower())


def store_audio(source: str | None, site_dir: Path) -> str | None:
    """Put the audio file ``source`` into ``site_dir/audio/`` once, named by the sha256 of its
    bytes, Opus-encoded (see the module doc), and return its site-relative path; None when it is
    missing, not audio (by suffix) or larger than :data:`MAX_AUDIO_BYTES`."""
    path = _audio_file(source)
    if path is None:
        return None
    digest = content_hash(path)
    copy_from, suffix = _encoded(path, digest)
    rel = f"{AUDIO_DIR}/{digest[:32]}{suffix}"
    dest = site_dir / rel
    if not dest.is_file():
        _put(dest, functools.partial(shutil.copyfile, copy_from))
    return rel
