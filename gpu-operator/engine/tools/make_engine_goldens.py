#!/usr/bin/env python3
"""Golden tensors for the native engine's correctness tests.

An independent PyTorch (CPU, float32) implementation of the pieces the Java engine must match:
per-head RMS norm, 3D RoPE, one dual-stream DiT block, the VAE's causal conv and pixel-shuffle
up-sampling (temporal and spatial), and the flow-matching sigma schedule. Written from the
HunyuanVideo-1.5 architecture description; torch 1.13 has no scaled_dot_product_attention,
so attention is written out.

Usage (Debian's python3-torch):  python3 gpu-operator/engine/tools/make_engine_goldens.py OUT.safetensors
Writes float32 tensors in the safetensors format (no extra Python packages needed).
"""
import json
import math
import struct
import sys

import torch
import torch.nn.functional as F

torch.manual_seed(1234)
OUT = {}


def put(name, t):
    OUT[name] = t.detach().contiguous().float()


def rand(*shape, std=1.0):
    return torch.randn(*shape) * std


# ---------------------------------------------------------------- RMS norm (per head)
x = rand(5, 2 * 8)
g = rand(8, std=0.5) + 1
y = x.view(5, 2, 8)
y = y * torch.rsqrt(y.pow(2).mean(-1, keepdim=True) + 1e-6) * g
put("rms.x", x)
put("rms.weight", g)
put("rms.out", y.reshape(5, 16))


# ---------------------------------------------------------------- 3D RoPE
def rope_tables(grid, dims, theta):
    t, h, w = grid
    pos = torch.stack(torch.meshgrid(torch.arange(t).float(), torch.arange(h).float(),
                                     torch.arange(w).float(), indexing="ij"), 0).reshape(3, -1)
    cos, sin = [], []
    for a, d in enumerate(dims):
        freqs = 1.0 / (theta ** (torch.arange(0, d, 2)[: d // 2].float() / d))
        ang = torch.outer(pos[a], freqs)
        cos.append(ang.cos())
        sin.append(ang.sin())
    return torch.cat(cos, 1), torch.cat(sin, 1)  # [S, D/2], one value per pair


def apply_rope(x, cos, sin):
    # x [S, H, D]; pairs (2j, 2j+1) rotate by the pair's angle
    xr = x.reshape(*x.shape[:-1], -1, 2)
    a, b = xr[..., 0], xr[..., 1]
    c = cos[:, None, :]
    s = sin[:, None, :]
    return torch.stack([a * c - b * s, a * s + b * c], -1).flatten(-2)


grid = (3, 4, 5)
dims = (8, 28, 28)
cos, sin = rope_tables(grid, dims, 256.0)
q = rand(60, 2, 64)
put("rope.x", q.reshape(60, 128))
put("rope.cos", cos)
put("rope.sin", sin)
put("rope.out", apply_rope(q, cos, sin).reshape(60, 128))

# ---------------------------------------------------------------- one dual-stream block
H, HEADS, HD, MLP = 32, 2, 16, 128
BDIMS = (4, 6, 6)
BGRID = (2, 3, 4)
N = BGRID[0] * BGRID[1] * BGRID[2]
L = 7
P = "double_blocks.0."
W = {}


def lin(name, out_f, in_f, std=None):
    W[name + ".weight"] = rand(out_f, in_f, std=std or 1 / math.sqrt(in_f))
    W[name + ".bias"] = rand(out_f, std=0.1)


for s in ("img", "txt"):
    lin(P + s + "_mod.linear", 6 * H, H, std=0.1)
    for n in ("q", "k", "v", "proj"):
        lin(P + s + "_attn_" + n, H, H)
    W[P + s + "_attn_q_norm.weight"] = 1 + rand(HD, std=0.2)
    W[P + s + "_attn_k_norm.weight"] = 1 + rand(HD, std=0.2)
    lin(P + s + "_mlp.fc1", MLP, H)
    lin(P + s + "_mlp.fc2", H, MLP)


def linear(x, name):
    return x @ W[name + ".weight"].T + W[name + ".bias"]


def layer_norm(x):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + 1e-6)


def rms(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * w


def gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def attention(q, k, v):
    # q,k,v [S, HEADS, HD]
    s = torch.einsum("qhd,khd->hqk", q, k) / math.sqrt(q.shape[-1])
    p = torch.softmax(s, -1)
    return torch.einsum("hqk,khd->qhd", p, v)


img = rand(N, H)
txt = rand(L, H)
vec = rand(1, H)
bcos, bsin = rope_tables(BGRID, BDIMS, 256.0)
sv = F.silu(vec)
imod = linear(sv, P + "img_mod.linear")[0].chunk(6)
tmod = linear(sv, P + "txt_mod.linear")[0].chunk(6)


def qkv(x, s, mod, rope):
    xm = layer_norm(x) * (1 + mod[1]) + mod[0]
    q = linear(xm, P + s + "_attn_q").view(-1, HEADS, HD)
    k = linear(xm, P + s + "_attn_k").view(-1, HEADS, HD)
    v = linear(xm, P + s + "_attn_v").view(-1, HEADS, HD)
    q = rms(q, W[P + s + "_attn_q_norm.weight"])
    k = rms(k, W[P + s + "_attn_k_norm.weight"])
    if rope:
        q = apply_rope(q, bcos, bsin)
        k = apply_rope(k, bcos, bsin)
    return q, k, v


iq, ik, iv = qkv(img, "img", imod, True)
tq, tk, tv = qkv(txt, "txt", tmod, False)
o = attention(torch.cat([iq, tq]), torch.cat([ik, tk]), torch.cat([iv, tv])).reshape(N + L, H)


def finish(x, a, s, mod):
    x = x + mod[2] * linear(a, P + s + "_attn_proj")
    h = layer_norm(x) * (1 + mod[4]) + mod[3]
    return x + mod[5] * linear(gelu_tanh(linear(h, P + s + "_mlp.fc1")), P + s + "_mlp.fc2")


put("block.img", img)
put("block.txt", txt)
put("block.vec", vec)
for k_, v_ in W.items():
    put(k_, v_)
put("block.img_out", finish(img, o[:N], "img", imod))
put("block.txt_out", finish(txt, o[N:], "txt", tmod))


# ---------------------------------------------------------------- VAE causal conv + upsampling
def causal_conv(x, w, b):
    k = w.shape[2]
    x = F.pad(x, (k // 2, k // 2, k // 2, k // 2, k - 1, 0), mode="replicate")
    return F.conv3d(x, w, b)


x = rand(1, 4, 5, 6, 7)
cw = rand(5, 4, 3, 3, 3, std=0.2)
cb = rand(5, std=0.1)
put("conv.x", x[0])
put("conv.weight", cw)
put("conv.bias", cb)
put("conv.out", causal_conv(x, cw, cb)[0])


def shuffle(h, r1):
    # "(r1 r2 r3 c) f h w -> c (f r1) (h r2) (w r3)" for batch 1
    C, f, hh, ww = h.shape[1:]
    c = C // (r1 * 4)
    h = h.view(r1, 2, 2, c, f, hh, ww).permute(3, 4, 0, 5, 1, 6, 2)
    return h.reshape(1, c, f * r1, hh * 2, ww * 2)


def upsample(x, w, b, temporal):
    cin = x.shape[1]
    factor = 8 if temporal else 4
    cout = w.shape[0] // factor
    repeats = factor * cout // cin
    h = causal_conv(x, w, b)
    if not temporal:
        return shuffle(h, 1) + shuffle(x.repeat_interleave(repeats, 1), 1)
    hf = shuffle(h[:, :, :1], 1)[:, :cout]
    hn = shuffle(h[:, :, 1:], 2)
    xf = shuffle(x[:, :, :1], 1).repeat_interleave(repeats // 2, 1)
    xn = shuffle(x[:, :, 1:].repeat_interleave(repeats, 1), 2)
    return torch.cat([hf + xf, hn + xn], 2)


for name, temporal in (("up_t", True), ("up_s", False)):
    x = rand(1, 8, 3, 4, 5)
    factor = 8 if temporal else 4
    w = rand(4 * factor, 8, 3, 3, 3, std=0.1)
    b = rand(4 * factor, std=0.1)
    put(name + ".x", x[0])
    put(name + ".conv.conv.weight", w)
    put(name + ".conv.conv.bias", b)
    put(name + ".out", upsample(x, w, b, temporal)[0])


# ---------------------------------------------------------------- sigma schedule
for steps, shift in ((10, 5.0), (50, 7.0)):
    s = torch.linspace(1, 0, steps + 1)
    put("sigmas.%d.%g" % (steps, shift), shift * s / (1 + (shift - 1) * s))


def write(path):
    header, blobs, off = {}, [], 0
    for k_, t in OUT.items():
        data = t.numpy().astype("<f4").tobytes()
        header[k_] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b_ in blobs:
            f.write(b_)


write(sys.argv[1])
print("wrote %d tensors to %s" % (len(OUT), sys.argv[1]))
