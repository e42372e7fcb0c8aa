"""Run INSIDE the export virtualenv (optimum-onnx, transformers<4.58), never imported by modellab:
``python _onnx_export.py SOURCE OUT`` writes a transformers.js model folder for a Whisper
checkpoint: the processor/tokenizer/config files at OUT and ONNX files under OUT/onnx
(``encoder_model.onnx``, ``decoder_model_merged.onnx`` and their ``*_quantized.onnx`` int8 twins,
which transformers.js loads for ``dtype: "q8"``)."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

KEEP = ("encoder_model", "decoder_model_merged")  # what transformers.js loads for Whisper
FILES = (
    "config.json",
    "generation_config.json",
    "preprocessor_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
)


def export(source: Path, out: Path) -> None:
    from optimum.exporters.onnx import main_export  # type: ignore[import-not-found]

    with tempfile.TemporaryDirectory(prefix="onnx-export-", dir=out.parent) as tmp:
        raw = Path(tmp)
        main_export(str(source), output=raw, task="automatic-speech-recognition-with-past", device="cpu")
        (out / "onnx").mkdir(parents=True, exist_ok=True)
        for name in FILES:
            if (raw / name).exists():
                shutil.copy2(raw / name, out / name)
        for stem in KEEP:
            shutil.copy2(raw / f"{stem}.onnx", out / "onnx" / f"{stem}.onnx")
            quantize(raw / f"{stem}.onnx", out / "onnx" / f"{stem}_quantized.onnx")


def fold_weight_transposes(model: Path, out: Path) -> None:
    """Replace every ``Transpose`` of a weight (the decoder's output projection reads the tied token
    embedding through one) by the transposed weight itself, so the ``MatMul`` after it has a constant
    B and is quantized too (else the 80 MB float embedding stays in the int8 file beside its copy)."""
    import onnx  # type: ignore[import-not-found]
    from onnx import numpy_helper

    proto = onnx.load(str(model))
    weights = {w.name: w for w in proto.graph.initializer}
    folded: dict[str, str] = {}

    def fold(graph: onnx.GraphProto) -> None:
        for node in list(graph.node):
            for attribute in node.attribute:
                if attribute.type == onnx.AttributeProto.GRAPH:
                    fold(attribute.g)
            if node.op_type == "Transpose" and node.input[0] in weights:
                perm = [a.ints for a in node.attribute if a.name == "perm"]
                array = numpy_helper.to_array(weights[node.input[0]])
                name = f"{node.input[0]}_transposed"
                if name not in folded.values():
                    transposed = array.transpose(perm[0]) if perm else array.T
                    proto.graph.initializer.append(numpy_helper.from_array(transposed.copy(), name))
                folded[node.output[0]] = name
                graph.node.remove(node)

    fold(proto.graph)

    def rewire(graph: onnx.GraphProto) -> None:
        for node in graph.node:
            node.input[:] = [folded.get(name, name) for name in node.input]
            for attribute in node.attribute:
                if attribute.type == onnx.AttributeProto.GRAPH:
                    rewire(attribute.g)

    rewire(proto.graph)
    onnx.save(proto, str(out))


def quantize(model: Path, out: Path) -> None:
    """Dynamic int8 weights (MatMul/Gemm/Gather; activations quantized at run time), as transformers.js'
    own conversion script makes its ``q8`` files. Subgraphs too: the merged decoder's two branches."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folded = out.with_name(out.stem + "_folded.onnx")
    fold_weight_transposes(model, folded)
    quantize_dynamic(
        folded,
        out,
        weight_type=QuantType.QUInt8,
        op_types_to_quantize=["MatMul", "Gemm", "Gather"],
        extra_options={"EnableSubgraph": True, "MatMulConstBOnly": True},
    )
    folded.unlink()


if __name__ == "__main__":
    export(Path(sys.argv[1]), Path(sys.argv[2]))
