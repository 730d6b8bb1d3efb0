"""``quantize_onnx_int8`` on a one-MatMul graph: int8 weights that still compute the product, and no
ONNX Runtime "run pre-processing" advice printed on the user's first run (other warnings still pass)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from shelfwise.encode.onnx_encoder import quantize_onnx_int8  # noqa: E402


def _matmul_model(path: Path, w: np.ndarray) -> None:
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "mm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, w.shape[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, w.shape[1]])],
        [numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


def test_quantize_int8_is_quiet_and_close(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(size=(16, 8)).astype(np.float32)
    _matmul_model(tmp_path / "fp32.onnx", w)
    with caplog.at_level(logging.WARNING):
        out = quantize_onnx_int8(tmp_path / "fp32.onnx", tmp_path / "int8.onnx")
        logging.warning("an unrelated warning")  # the filter is gone after the call
    said = [r.getMessage() for r in caplog.records]
    assert not any("pre-processing" in m for m in said), said
    assert "an unrelated warning" in said
    assert not (tmp_path / "int8.folded.onnx").exists()
    x = rng.normal(size=(4, 16)).astype(np.float32)
    (y,) = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    ops = {n.op_type for n in onnx.load(str(out)).graph.node}
    assert "MatMulInteger" in ops or "DynamicQuantizeMatMul" in ops  # really int8
    cos = (y * (x @ w)).sum(1) / (np.linalg.norm(y, axis=1) * np.linalg.norm(x @ w, axis=1))
    assert cos.min() > 0.99
