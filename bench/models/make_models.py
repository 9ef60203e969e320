"""Write the synthetic benchmark models of bench/models/ (committed; re-run to regenerate).

    python bench/models/make_models.py

inception_stem_fp32.tflite: the stem of InceptionV3 on its 299x299x3 input (conv 3x3/2 32,
conv 3x3 32, conv 3x3 64 SAME, max-pool 3x3/2, conv 1x1 80, conv 3x3 192, max-pool 3x3/2;
every conv with bias and ReLU), ~2.7 GFLOP per run: the "inception-sized input" of the
threading target.  Weights are random (He-scaled, seed 0) and stored as fp16 constants
with DEQUANTIZE, as TFLite's fp16 converter writes them, to keep the file small.
Built with tests/tflite_build.py (flatbuffers only, no TensorFlow).
"""
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tests"))
from tflite_build import ModelBuilder  # noqa: E402


def inception_stem():
    b = ModelBuilder()
    rng = np.random.default_rng(0)
    x = b.input((1, 299, 299, 3), name="input")
    shape = (1, 299, 299, 3)

    def out_size(n, k, s, same):
        return -(-n // s) if same else (n - k) // s + 1

    def conv(x, shape, cout, k, s, same, name):
        cin = shape[3]
        w = (rng.standard_normal((cout, k, k, cin)) * np.sqrt(2.0 / (k * k * cin))).astype(np.float16)
        w16 = b.const(w, name=f"{name}/w16")
        wf = b.tensor(w.shape, np.float32, name=f"{name}/w")
        b.op("DEQUANTIZE", [w16], [wf], version=3)
        bias = b.const((rng.standard_normal(cout) * 0.1).astype(np.float32), name=f"{name}/b")
        oshape = (1, out_size(shape[1], k, s, same), out_size(shape[2], k, s, same), cout)
        y = b.tensor(oshape, np.float32, name=name)
        b.op("CONV_2D", [x, wf, bias], [y], {"padding": 0 if same else 1, "stride_h": s, "stride_w": s,
                                             "fused_activation_function": 1})
        return y, oshape

    def maxpool(x, shape, name):
        oshape = (1, out_size(shape[1], 3, 2, False), out_size(shape[2], 3, 2, False), shape[3])
        y = b.tensor(oshape, np.float32, name=name)
        b.op("MAX_POOL_2D", [x], [y], {"padding": 1, "stride_h": 2, "stride_w": 2, "filter_height": 3,
                                       "filter_width": 3})
        return y, oshape

    x, shape = conv(x, shape, 32, 3, 2, False, "conv1")
    x, shape = conv(x, shape, 32, 3, 1, False, "conv2")
    x, shape = conv(x, shape, 64, 3, 1, True, "conv3")
    x, shape = maxpool(x, shape, "pool1")
    x, shape = conv(x, shape, 80, 1, 1, False, "conv4")
    x, shape = conv(x, shape, 192, 3, 1, False, "conv5")
    x, shape = maxpool(x, shape, "pool2")
    return b.build(outputs=[x])


def main():
    path = HERE / "inception_stem_fp32.tflite"
    path.write_bytes(inception_stem())
    print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
