#!/usr/bin/env python3
"""Goldens for the engine's SigLIP vision encoder and the image-to-video reference-image handling.

What runs here, and what it stands for:

- The reference image's resize and centre crop to the render size: the OFFICIAL function
  `hyvideo.utils.data_utils.resize_and_center_crop` (the vision path of the official pipeline's
  `_prepare_vision_states`), run from a checkout of the public HunyuanVideo-1.5 repository (given
  on the command line, never copied into ReelFlow) through tools/official/official_env.py with
  Debian's real python3-pil (Pillow) instead of the placeholder. The official first-frame latent
  path (`get_image_condition_latents`) resizes with torchvision's Resize(LANCZOS) and CenterCrop,
  which cannot run here (no torchvision); this script does what those transforms do on a PIL image
  (PIL resize with LANCZOS, then a crop at int(round((size - crop) / 2))) and asserts that both
  paths give the same pixels, so one Java function serves both.
- SigLIP's image processor and vision tower: transformers' SiglipImageProcessor and
  SiglipVisionModel cannot be installed here, so this script writes them in PyTorch from the
  public reference modeling code (transformers/models/siglip: image_processing_siglip.py and
  modeling_siglip.py: resize with PIL to size x size with the configured resample, rescale by
  rescale_factor in float64 then float32, normalise by mean/std; Conv2d patch embedding, learned
  position embeddings, pre-LN encoder layers with biased q/k/v/out projections and softmax in
  float32, gelu-tanh MLP, post-layernorm; last_hidden_state). It is independent of the Java code.

Images and weights are not stored: the input image's bytes and every parameter come from the
formula of tools/make_official_goldens.py (the Java twin is dev.reelflow.engine.testing
.FormulaValues): image byte i of stream NAME (HWC order) = floor((u + 1) * 127.5) of the input
stream NAME. The tiny SigLIP (hidden 32, 4 heads, MLP 48, 2 layers, image 44, patch 14: 9
tokens; as in the released 384/14, the image is not a multiple of the patch and the valid
convolution drops the last pixels) has the SiglipVisionModel parameter names, its pooling head included (the pipeline
reads last_hidden_state, so the Java loader ignores the head with a stated reason).

Writes OUT_DIR/siglip.safetensors (about 40 KB): crop.<case> (the official crop, byte values as
F16, [H, W, 3]), resized.<case> (the processor's resize to 44 x 44, bytes as F16), embeddings.up
and hidden.<case> (F32 [9, 32]);
metadata: the image_encoder config.json, the feature_extractor preprocessor_config.json, the
cases (source and target sizes) and the state-dict names and shapes.

Usage:  /usr/bin/python3 gpu-operator/engine/tools/make_siglip_goldens.py \\
            /path/to/HunyuanVideo-1.5 gpu-operator/engine/src/test/resources/engine/official
        (needs python3-torch and python3-pil from Debian)
"""
import json
import math
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "official"))
import official_env  # noqa: E402

if len(sys.argv) != 3:
    sys.exit(__doc__)
official_env.setup(sys.argv[1], real=("PIL",))
OUT_DIR = sys.argv[2]
os.makedirs(OUT_DIR, exist_ok=True)

import PIL  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402

from hyvideo.utils.data_utils import resize_and_center_crop  # noqa: E402  (official)

MASK64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


# ---------------------------------------------------------------- formula values
def fnv1a64(name):
    h = 0xCBF29CE484222325
    for b in name.encode("utf-8"):
        h ^= b
        h = (h * 0x100000001B3) & MASK64
    return h


def uniform(name, n):
    i = np.arange(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(fnv1a64(name)) + (i + np.uint64(1)) * np.uint64(GAMMA)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(40)).astype(np.float64) / 8388608.0 - 1.0


def param_values(name, shape):
    n = int(np.prod(shape))
    u = uniform(name, n)
    if len(shape) == 1:
        v = 0.1 * u if name.endswith("bias") else 1.0 + 0.1 * u
    else:
        v = u * math.sqrt(3.0 / int(np.prod(shape[1:])))
    return torch.from_numpy(v.astype(np.float32).reshape(shape))


def image_bytes(name, h, w):
    """[h, w, 3] uint8: floor((u + 1) * 127.5) of the input stream, HWC order."""
    u = uniform(name, h * w * 3).astype(np.float32).astype(np.float64)
    return np.floor((u + 1.0) * 127.5).astype(np.uint8).reshape(h, w, 3)


# ---------------------------------------------------------------- SigLIP, from the reference code
CONFIG = {
    "architectures": ["SiglipVisionModel"],
    "attention_dropout": 0.0,
    "hidden_act": "gelu_pytorch_tanh",
    "hidden_size": 32,
    "image_size": 44,
    "intermediate_size": 48,
    "layer_norm_eps": 1e-06,
    "model_type": "siglip_vision_model",
    "num_attention_heads": 4,
    "num_channels": 3,
    "num_hidden_layers": 2,
    "patch_size": 14,
    "torch_dtype": "float32",
}
PREPROCESSOR = {
    "do_convert_rgb": None,
    "do_normalize": True,
    "do_rescale": True,
    "do_resize": True,
    "image_mean": [0.5, 0.5, 0.5],
    "image_processor_type": "SiglipImageProcessor",
    "image_std": [0.5, 0.5, 0.5],
    "processor_class": "SiglipProcessor",
    "resample": 3,
    "rescale_factor": 0.00392156862745098,
    "size": {"height": 44, "width": 44},
}


def siglip_preprocess(image, cfg):
    """SiglipImageProcessor.preprocess for one HWC uint8 RGB image: [3, S, S] float32."""
    x = image
    if cfg["do_resize"]:
        s = cfg["size"]
        # transformers.image_transforms.resize: to PIL (uint8 as is), PIL resize, back to numpy
        x = np.array(Image.fromarray(x).resize((s["width"], s["height"]), resample=cfg["resample"]))
    if cfg["do_rescale"]:
        x = (x.astype(np.float64) * cfg["rescale_factor"]).astype(np.float32)
    if cfg["do_normalize"]:
        mean = np.array(cfg["image_mean"], dtype=x.dtype)
        std = np.array(cfg["image_std"], dtype=x.dtype)
        x = (x - mean) / std
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, p = c["hidden_size"], c["patch_size"]
        self.patch_embedding = nn.Conv2d(c["num_channels"], d, kernel_size=p, stride=p)
        self.num_positions = (c["image_size"] // p) ** 2
        self.position_embedding = nn.Embedding(self.num_positions, d)

    def forward(self, pixel_values):
        x = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
        return x + self.position_embedding(torch.arange(self.num_positions).unsqueeze(0))


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["hidden_size"]
        self.heads = c["num_attention_heads"]
        self.head_dim = d // self.heads
        self.scale = self.head_dim ** -0.5
        self.k_proj = nn.Linear(d, d)
        self.v_proj = nn.Linear(d, d)
        self.q_proj = nn.Linear(d, d)
        self.out_proj = nn.Linear(d, d)

    def forward(self, x):
        b, n, d = x.shape

        def split(t):
            return t.view(b, n, self.heads, self.head_dim).transpose(1, 2)

        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        w = torch.matmul(q, k.transpose(2, 3)) * self.scale
        w = F.softmax(w, dim=-1, dtype=torch.float32).to(q.dtype)
        o = torch.matmul(w, v).transpose(1, 2).reshape(b, n, d)
        return self.out_proj(o)


class Mlp(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.fc1 = nn.Linear(c["hidden_size"], c["intermediate_size"])
        self.fc2 = nn.Linear(c["intermediate_size"], c["hidden_size"])

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class EncoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, eps = c["hidden_size"], c["layer_norm_eps"]
        self.self_attn = Attention(c)
        self.layer_norm1 = nn.LayerNorm(d, eps=eps)
        self.mlp = Mlp(c)
        self.layer_norm2 = nn.LayerNorm(d, eps=eps)

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layers = nn.ModuleList([EncoderLayer(c) for _ in range(c["num_hidden_layers"])])


class MultiheadAttentionPoolingHead(nn.Module):
    """Present in the checkpoint (pooler_output); last_hidden_state does not use it."""

    def __init__(self, c):
        super().__init__()
        d = c["hidden_size"]
        self.probe = nn.Parameter(torch.zeros(1, 1, d))
        self.attention = nn.MultiheadAttention(d, c["num_attention_heads"], batch_first=True)
        self.layernorm = nn.LayerNorm(d, eps=c["layer_norm_eps"])
        self.mlp = Mlp(c)


class VisionTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = Embeddings(c)
        self.encoder = Encoder(c)
        self.post_layernorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.head = MultiheadAttentionPoolingHead(c)

    def forward(self, pixel_values):
        e = self.embeddings(pixel_values)
        h = e
        for layer in self.encoder.layers:
            h = layer(h)
        return e, self.post_layernorm(h)


class SiglipVisionModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.vision_model = VisionTransformer(c)


# ---------------------------------------------------------------- safetensors writer
def write_safetensors(path, tensors, metadata):
    """F32 tensors, except names starting with crop./resized. (byte values, exact in F16)."""
    header, blobs, off = {"__metadata__": metadata}, [], 0
    for k, t in tensors.items():
        half = k.startswith(("crop.", "resized."))
        a = t.detach().contiguous().float().numpy()
        data = a.astype("<f2" if half else "<f4").tobytes()
        header[k] = {"dtype": "F16" if half else "F32", "shape": list(t.shape),
                     "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def torchvision_style(image, target_w, target_h):
    """transforms.Resize((rh, rw), LANCZOS) + CenterCrop((th, tw)) on a PIL image, as torchvision
    does it (the official get_image_condition_latents): PIL resize, crop at round((s - c) / 2)."""
    pil = Image.fromarray(image)
    ow, oh = pil.size
    scale = max(target_w / ow, target_h / oh)
    rw, rh = int(round(ow * scale)), int(round(oh * scale))
    pil = pil.resize((rw, rh), Image.LANCZOS)
    top = int(round((rh - target_h) / 2.0))
    left = int(round((rw - target_w) / 2.0))
    return np.array(pil.crop((left, top, left + target_w, top + target_h)))


# source (w, h) -> render (w, h): enlarge with another aspect, shrink a lot, identity, very wide,
# one whose scaled size has an odd excess (a .5 crop offset), and one (not stored) whose crop the
# SigLIP processor shrinks
CASES = {
    "up": ((37, 23), (32, 16)),
    "down": ((150, 97), (32, 16)),
    "same": ((16, 16), (16, 16)),
    "wide": ((200, 41), (16, 16)),
    "odd": ((61, 40), (32, 16)),
    "big": ((90, 70), (64, 48)),
}
ENCODED = ("up", "big")


def main():
    torch.manual_seed(0)
    torch.set_grad_enabled(False)
    model = SiglipVisionModel(CONFIG).eval()
    sd = model.state_dict()
    for k, v in sd.items():
        sd[k] = param_values(k, tuple(v.shape))
    model.load_state_dict(sd, strict=True)

    out = {}
    for name, ((sw, sh), (tw, th)) in CASES.items():
        src = image_bytes("image-" + name, sh, sw)
        crop = resize_and_center_crop(src, target_width=tw, target_height=th)  # official
        assert crop.shape == (th, tw, 3), crop.shape
        tv = torchvision_style(src, tw, th)
        assert np.array_equal(crop, tv), f"{name}: the two official paths differ"
        if name not in ENCODED or name == "up":
            out["crop." + name] = torch.from_numpy(crop.astype(np.float32))
        if name in ENCODED:
            sz = PREPROCESSOR["size"]
            resized = np.array(Image.fromarray(crop).resize((sz["width"], sz["height"]),
                                                            resample=PREPROCESSOR["resample"]))
            out["resized." + name] = torch.from_numpy(resized.astype(np.float32))
            emb, hidden = model.vision_model(siglip_preprocess(crop, PREPROCESSOR).unsqueeze(0))
            if name == "up":
                out["embeddings." + name] = emb[0]
            out["hidden." + name] = hidden[0]

    meta = {
        "config": json.dumps(CONFIG),
        "preprocessor": json.dumps(PREPROCESSOR),
        "cases": json.dumps({k: {"source": list(v[0]), "target": list(v[1])} for k, v in CASES.items()}),
        "params": json.dumps({k: list(v.shape) for k, v in sd.items()}),
        "pillow": PIL.__version__,
        "torch": torch.__version__,
    }
    path = os.path.join(OUT_DIR, "siglip.safetensors")
    write_safetensors(path, out, meta)
    print(f"wrote {path} ({os.path.getsize(path)} bytes), Pillow {PIL.__version__}")


if __name__ == "__main__":
    main()
