# The kernels LibTorch and OpenBLAS pick depend on the CPU (AVX-512 vs AVX2),
# and their results differ in the last bits; the tests compare this process
# with `cohort` subprocesses, so both use the same ones, as the C++ tests do
# (tests/CMakeLists.txt, docs/meta.md "Kernels"). Read when the libraries
# load, so set before any test imports cohort.
import os

os.environ.setdefault("ATEN_CPU_CAPABILITY", "avx2")
os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")
