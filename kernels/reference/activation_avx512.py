"""NumPy twins of kernels/activation_avx512.py (bit-exact models, see reference/activation.py)."""
from .activation import sigmoid_f32_xnn, swish_f32_xnn


def sigmoid_f32_xnn_avx512(table, x, out):
    """The same operations as sigmoid_f32_xnn (vpermt2ps is the table lookup, vscalefps scalef32)."""
    sigmoid_f32_xnn(table, x, out)


def swish_f32_xnn_avx512(table, rnd, x, out):
    """The same operations as swish_f32_xnn."""
    swish_f32_xnn(table, rnd, x, out)
