"""NumPy twin of kernels/qelementwise_vbmi.py (the same lookup as qelementwise.lut_u8)."""
from .qelementwise import lut_u8


def lut_u8_vbmi(x, table, out):
    lut_u8(x, table, out)
