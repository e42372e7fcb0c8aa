"""The plain faster-whisper script that ``bench_startup`` compares a whole ``python -m modellab``
process against: load the weights, warm up once on the first file, transcribe every file, print.
No modellab import; the driver passes the weights folder, threads and the files.

    .venv/bin/python benchmarks/plain_asr.py WEIGHTS_DIR --threads 2 --beam-size 5 FILE [FILE ...]

Prints one JSON line: ``cold_start_s`` (process start to the first transcript, as the lab's
``runs.cold_start_s``) and the transcripts.
"""

from __future__ import annotations

import argparse
import json
import time


def _process_age_s() -> float:
    """Seconds since this process started (the kernel's start time, interpreter start-up included)."""
    import os

    with open(f"/proc/{os.getpid()}/stat") as fh:
        start_ticks = int(fh.read().rpartition(")")[2].split()[19])
    with open("/proc/uptime") as fh:
        uptime = float(fh.read().split()[0])
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("weights")
    parser.add_argument("files", nargs="+")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--beam-size", type=int, default=5)
    parser.add_argument("--compute-type", default="int8")
    parser.add_argument("--language", default="en")
    args = parser.parse_args()

    from faster_whisper import WhisperModel
    from faster_whisper.audio import decode_audio

    model = WhisperModel(args.weights, device="cpu", compute_type=args.compute_type, cpu_threads=args.threads)
    options = {"language": args.language, "beam_size": args.beam_size, "temperature": 0.0}
    audio = [decode_audio(path) for path in args.files]
    segments, _ = model.transcribe(audio[0], **options)  # the warm-up, as the lab's
    "".join(s.text for s in segments)
    cold_start_s = _process_age_s()
    texts = []
    for samples in audio:
        segments, _ = model.transcribe(samples, **options)
        texts.append("".join(s.text for s in segments).strip())
    print(json.dumps({"cold_start_s": cold_start_s, "texts": texts, "at": time.time()}))


if __name__ == "__main__":
    main()
