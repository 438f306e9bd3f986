#!/usr/bin/env python3
"""NumPy (OpenBLAS) reference figures for the engine benchmark, measured on the same machine.

Prints NumPy's float32 GEMM rate (1024^3, best of 5) and a naive GEMM-softmax-GEMM attention on
the benchmark's slice shape: 2 heads x 3072 queries against 64,896 keys, head dim 128 (the padded
480p/121-frame sequence), in 384-query chunks.  Usage: python3 gpu-operator/engine/tools/numpy_attention_bar.py
[heads queries keys head_dim] (reelflow bench attention passes its own slice's shape).
"""
import sys
import time

import numpy as np

rng = np.random.default_rng(0)
a = rng.standard_normal((1024, 1024), dtype=np.float32)
b = rng.standard_normal((1024, 1024), dtype=np.float32)
a @ b.T
best = min(((lambda t0: (a @ b.T, time.perf_counter() - t0)[1])(time.perf_counter())) for _ in range(5))
print("numpy sgemm 1024^3 (best of 5): %.1f GFLOP/s" % (2 * 1024 ** 3 / best / 1e9))

heads, sq, sk, d = (int(x) for x in sys.argv[1:5]) if len(sys.argv) >= 5 else (2, 3072, 64896, 128)
q = rng.standard_normal((sq, heads, d), dtype=np.float32)
k = rng.standard_normal((sk, heads, d), dtype=np.float32)
v = rng.standard_normal((sk, heads, d), dtype=np.float32)
out = np.empty_like(q)
scale = np.float32(1 / np.sqrt(d))
t0 = time.perf_counter()
for h in range(heads):
    kh = np.ascontiguousarray(k[:, h, :])
    vh = np.ascontiguousarray(v[:, h, :])
    for q0 in range(0, sq, 384):
        s = (q[q0:q0 + 384, h, :] @ kh.T) * scale
        s -= s.max(axis=1, keepdims=True)
        np.exp(s, out=s)
        s /= s.sum(axis=1, keepdims=True)
        out[q0:q0 + 384, h, :] = s @ vh
sec = time.perf_counter() - t0
print("numpy naive GEMM-softmax-GEMM on the slice: %.3f s, %.1f GFLOP/s" % (sec, 4.0 * sq * sk * d * heads / sec / 1e9))
