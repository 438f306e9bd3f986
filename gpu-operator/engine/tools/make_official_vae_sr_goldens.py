#!/usr/bin/env python3
"""Goldens for the engine's VAE and SR stage, produced by the official HunyuanVideo-1.5 code.

Runs the official modules themselves (a checkout of the public repository, given on the command
line, never copied into ReelFlow) on Debian's python3-torch 1.13, float32, CPU, through
tools/official/official_env.py. Tiny configurations keep every file at tens of KB:

  vae_decode.safetensors    AutoencoderKLConv3D decode/encode, two configs (16/4 with
                            shift_factor; 8/2 with down/upsample_match_channel false)
  vae_tiled.safetensors     the official spatially tiled decode (tiles blended in place, in
                            raster order), two tile geometries
  vae_long.safetensors      a clip longer than the temporal tile: the official decode still
                            tiles in space only (its temporal tiling raises "not supported")
  upsamplers.safetensors    SRTo720pUpsampler (with and without global residual) and
                            SRTo1080pUpsampler (a resnet stack with a channel change)
  sr_pieces.safetensors     per-frame bilinear resize, BucketMap for both SR variants, the
                            SR scheduler settings, task masks and both conditions (t2v, i2v),
                            the lq noise mix
  sr_flow_latent.safetensors, sr_flow_video.safetensors, sr_flow_1080p.safetensors
                            the official SR pipeline __call__ end to end (bucket map, resize,
                            upsampler, noise mix, 98-channel condition, t < 700 zeroing, Euler
                            steps, tiled VAE decode) with a stand-in transformer: v = W x +
                            (t / 1000) b per latent pixel; 720p_sr final latents and decoded
                            video, 1080p_sr final latents; timesteps and input channel sums per
                            step

Weights are not stored: every parameter is filled by a name-seeded generator that the Java test
reproduces exactly (CRC-32 of the name seeds a 31-bit LCG; see det()). Model configs travel in
each file's __metadata__ as JSON, in the released config.json key names.

Usage:  /usr/bin/python3 gpu-operator/engine/tools/make_official_vae_sr_goldens.py \
            /path/to/HunyuanVideo-1.5 gpu-operator/engine/src/test/resources/engine/official
"""
import contextlib
import json
import math
import os
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "official"))
import official_env  # noqa: E402

if len(sys.argv) != 3:
    sys.exit(__doc__)
official_env.setup(sys.argv[1])
OUT_DIR = sys.argv[2]
os.makedirs(OUT_DIR, exist_ok=True)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from hyvideo.commons import SR_PIPELINE_CONFIGS  # noqa: E402
from hyvideo.models.autoencoders.hunyuanvideo_15_vae import AutoencoderKLConv3D  # noqa: E402
from hyvideo.models.transformers.modules.upsample import (  # noqa: E402
    SRTo720pUpsampler,
    SRTo1080pUpsampler,
)
import hyvideo.pipelines.hunyuan_video_sr_pipeline as srp  # noqa: E402
from hyvideo.schedulers.scheduling_flow_match_discrete import (  # noqa: E402
    FlowMatchDiscreteScheduler,
)


# ---------------------------------------------------------------- deterministic values
def det(name, shape, kind):
    """Values the Java side regenerates bit for bit: x0 = crc32(name) mod 2^31, x <- (1103515245 x
    + 12345) mod 2^31, u = x / 2^31; 'w': (2u-1)/sqrt(fan_in), 'gamma': 1 + 0.2(2u-1), 'bias':
    0.05(2u-1), 'unit': 2u-1 (all in float64, then float32)."""
    n = 1
    for d in shape:
        n *= d
    fan_in = n // shape[0] if len(shape) > 1 else 1
    x = zlib.crc32(name.encode("utf-8")) % 2147483648
    vals = []
    for _ in range(n):
        x = (1103515245 * x + 12345) % 2147483648
        u = 2.0 * (x / 2147483648.0) - 1.0
        if kind == "w":
            vals.append(u / math.sqrt(fan_in))
        elif kind == "gamma":
            vals.append(1.0 + 0.2 * u)
        elif kind == "bias":
            vals.append(0.05 * u)
        else:
            vals.append(u)
    return torch.tensor(vals, dtype=torch.float64).float().reshape(shape)


def kind_of(name, t):
    if name.endswith(".gamma"):
        return "gamma"
    if name.endswith(".bias"):
        return "bias"
    return "w"


def fill(module):
    """Every parameter from det(), by its state-dict name."""
    sd = module.state_dict()
    for name, t in sd.items():
        t.copy_(det(name, list(t.shape), kind_of(name, t)))
    return module


# ---------------------------------------------------------------- safetensors writer
class Golden:
    def __init__(self, name):
        self.name = name
        self.tensors = {}
        self.meta = {}

    def put(self, key, t):
        self.tensors[key] = torch.as_tensor(t).detach().contiguous().float()

    def write(self):
        header, blobs, off = {}, [], 0
        if self.meta:
            header["__metadata__"] = {k: str(v) for k, v in self.meta.items()}
        for k, t in self.tensors.items():
            data = t.numpy().astype("<f4").tobytes()
            header[k] = {"dtype": "F32", "shape": list(t.shape),
                         "data_offsets": [off, off + len(data)]}
            blobs.append(data)
            off += len(data)
        h = json.dumps(header).encode()
        h += b" " * ((8 - len(h) % 8) % 8)
        path = os.path.join(OUT_DIR, self.name)
        with open(path, "wb") as f:
            f.write(struct.pack("<Q", len(h)))
            f.write(h)
            for b in blobs:
                f.write(b)
        print("wrote %-26s %6.1f KB, %d tensors" % (self.name, os.path.getsize(path) / 1024,
                                                      len(self.tensors)))


def vae_of(cfg):
    vae = AutoencoderKLConv3D(**{k: v for k, v in cfg.items() if not k.startswith("_")})
    return fill(vae).eval()


# released vae/config.json key names; the numbers are tiny
VAE_A = {"_class_name": "AutoencoderKLConv3D", "block_out_channels": [8, 16, 16, 32, 32],
         "downsample_match_channel": True, "ffactor_spatial": 16, "ffactor_temporal": 4,
         "in_channels": 3, "latent_channels": 4, "layers_per_block": 1, "out_channels": 3,
         "sample_size": 32, "sample_tsize": 4, "scaling_factor": 1.03682, "shift_factor": 0.25,
         "upsample_match_channel": True}
VAE_B = {"_class_name": "AutoencoderKLConv3D", "block_out_channels": [8, 16, 24, 32],
         "downsample_match_channel": False, "ffactor_spatial": 8, "ffactor_temporal": 2,
         "in_channels": 3, "latent_channels": 4, "layers_per_block": 1, "out_channels": 3,
         "sample_size": 32, "sample_tsize": 2, "scaling_factor": 0.7, "shift_factor": None,
         "upsample_match_channel": False}


def pipeline_decode(vae, latents):
    """The pipelines' decode of sampled latents: / scaling_factor (+ shift_factor when truthy)."""
    cfg = vae.config
    if cfg.get("shift_factor"):
        z = latents / cfg["scaling_factor"] + cfg["shift_factor"]
    else:
        z = latents / cfg["scaling_factor"]
    return vae.decode(z, return_dict=False)[0]


# ---------------------------------------------------------------- VAE: plain decode and encode
g = Golden("vae_decode.safetensors")
for tag, cfg, zshape in (("a", VAE_A, (1, 4, 2, 1, 2)), ("b", VAE_B, (1, 4, 3, 2, 2))):
    vae = vae_of(cfg)
    g.meta["vae_" + tag] = json.dumps(cfg)
    g.meta["vae_" + tag + ".tensors"] = json.dumps(list(vae.state_dict().keys()))
    z = det("golden.%s.latents" % tag, list(zshape), "unit") * 1.5
    g.put(tag + ".latents", z[0])
    g.put(tag + ".decoded", pipeline_decode(vae, z)[0])
    x = det("golden.%s.pixels" % tag, [1, 3, 5] + [cfg["ffactor_spatial"]] * 2, "unit")
    g.put(tag + ".pixels", x[0])
    post = vae.encode(x).latent_dist
    g.put(tag + ".encoded_mean", post.mode()[0])
    # the I2V condition the pipelines build: mode() * scaling_factor (no shift_factor)
    g.put(tag + ".cond_latents", (post.mode() * cfg["scaling_factor"])[0])
g.write()


# ---------------------------------------------------------------- VAE: official spatial tiling
def tiled(cfg, sample_size, overlap, z):
    vae = vae_of(cfg)
    vae.set_tile_sample_min_size(sample_size, overlap)
    with vae.memory_efficient_context():  # what the base pipeline wraps its decode in
        return vae.decode(z, return_dict=False)[0]


g = Golden("vae_tiled.safetensors")
# (tag, config, tile px, overlap, latent shape): B: tile 4 latents, stride 3, blend 8 px, partial
# last tiles on both axes; A: tile 2 latents, stride 1, blend 16 px, every tile overlapped twice
for tag, cfg, size, ov, zshape in (("b", VAE_B, 32, 0.25, (1, 4, 1, 5, 7)),
                                   ("a", VAE_A, 32, 0.5, (1, 4, 1, 3, 2))):
    g.meta["vae_" + tag] = json.dumps(cfg)
    g.meta["tile_" + tag] = json.dumps({"sample_size": size, "tile_overlap_factor": ov})
    z = det("golden.tiled.%s.latents" % tag, list(zshape), "unit") * 1.5
    g.put(tag + ".latents", z[0])
    g.put(tag + ".decoded", tiled(cfg, size, ov, z)[0])
g.write()

g = Golden("vae_long.safetensors")
# 2 latent frames > tile_latent_min_tsize = 2 // 2 = 1: a temporal tile would apply if the
# official VAE supported one; enable_temporal_tiling raises, so the decode tiles space only
g.meta["vae_b"] = json.dumps(VAE_B)
g.meta["tile_b"] = json.dumps({"sample_size": 32, "tile_overlap_factor": 0.25})
try:
    vae_of(VAE_B).enable_temporal_tiling(True)
    raise SystemExit("the official VAE now supports temporal tiling: revisit the engine")
except RuntimeError as e:
    g.meta["temporal_tiling"] = str(e)
z = det("golden.long.latents", [1, 4, 2, 5, 4], "unit") * 1.5
g.put("b.latents", z[0])
g.put("b.decoded", tiled(VAE_B, 32, 0.25, z)[0])
g.write()


# ---------------------------------------------------------------- upsamplers
g = Golden("upsamplers.safetensors")
x = det("golden.up.input", [1, 4, 3, 5, 6], "unit")
g.put("input", x[0])
for tag, cls, cfg in (
        ("u720", SRTo720pUpsampler, {"_class_name": "SRTo720pUpsampler", "in_channels": 4,
                                     "out_channels": 4, "hidden_channels": 8, "num_blocks": 2,
                                     "global_residual": False}),
        ("u720r", SRTo720pUpsampler, {"_class_name": "SRTo720pUpsampler", "in_channels": 4,
                                      "out_channels": 4, "hidden_channels": 8, "num_blocks": 2,
                                      "global_residual": True}),
        ("u1080", SRTo1080pUpsampler, {"_class_name": "SRTo1080pUpsampler", "z_channels": 4,
                                       "out_channels": 4, "block_out_channels": [8, 16],
                                       "num_res_blocks": 1, "is_residual": False})):
    m = fill(cls(**{k: v for k, v in cfg.items() if not k.startswith("_")})).eval()
    g.meta[tag] = json.dumps(cfg)
    g.meta[tag + ".tensors"] = json.dumps(list(m.state_dict().keys()))
    g.put(tag + ".output", m(x)[0])
g.write()


# ---------------------------------------------------------------- SR pieces
def bare_sr_pipeline():
    """An SR pipeline instance without __init__ (which loads checkpoints and encoders): only the
    attributes its methods read, float32 everywhere (the official runs bf16 transformer inputs)."""
    p = object.__new__(srp.HunyuanVideo_1_5_SR_Pipeline)
    p.execution_device = torch.device("cpu")
    p.noise_init_device = torch.device("cpu")
    p.target_dtype = torch.float32
    p.vae_dtype = torch.float32
    p.autocast_enabled = False
    p.vae_autocast_enabled = False
    p.enable_offloading = False
    p.text_encoder = p.text_encoder_2 = p.byt5_model = p.vision_encoder = None
    return p


g = Golden("sr_pieces.safetensors")
# bilinear per-frame resize, align_corners False, as the SR pipeline applies it
lq = det("golden.resize.input", [1, 3, 2, 4, 5], "unit")
g.put("resize.input", lq[0])
for th, tw in ((6, 8), (3, 7), (9, 11)):
    r = lq.permute(0, 2, 1, 3, 4).reshape(2, 3, 4, 5)
    r = F.interpolate(r, size=(th, tw), mode="bilinear", align_corners=False)
    g.put("resize.%dx%d" % (th, tw), r.reshape(1, 2, 3, th, tw).permute(0, 2, 1, 3, 4)[0])
# BucketMap of both SR variants: every LR bucket (w, h) -> HR bucket (w, h)
for ver, cfg in SR_PIPELINE_CONFIGS.items():
    base = srp.SizeMap[cfg["base_resolution"]]
    hr = srp.SizeMap["1080p" if ver.startswith("1080p") else "720p"]
    bm = srp.BucketMap(lr_base_size=base, hr_base_size=hr, lr_patch_size=16, hr_patch_size=16)
    rows = [[lw, lh] + list(bm((lw, lh))) for (lw, lh) in bm.lr_buckets]
    g.put("buckets.%s" % ver, torch.tensor(rows, dtype=torch.float32))
    g.meta["buckets.%s" % ver] = json.dumps({"lr_base": base, "hr_base": hr})
    # scheduler as the SR pipeline creates it, with the variant's steps and shift
    sch = srp.HunyuanVideo_1_5_SR_Pipeline._create_scheduler(cfg["flow_shift"])
    sch.set_timesteps(cfg["num_inference_steps"], device="cpu")
    g.put("scheduler.%s.sigmas" % ver, sch.sigmas)
    g.put("scheduler.%s.timesteps" % ver, sch.timesteps)
    g.meta["sr_config.%s" % ver] = json.dumps(cfg)
# conditions: t2v and i2v, the lq part, and the noise mix with its recorded noise
p = bare_sr_pipeline()
T, H, W = 3, 2, 3
latents = det("golden.cond.latents", [1, 32, T, H, W], "unit")
image_cond = det("golden.cond.image", [1, 32, 1, H, W], "unit")
lq_up = det("golden.cond.lq", [1, 32, T, H, W], "unit")
g.put("cond.latents", latents[0])
g.put("cond.image", image_cond[0])
g.put("cond.lq_upsampled", lq_up[0])
for task, img in (("t2v", None), ("i2v", image_cond)):
    mask = p.get_task_mask(task, T)
    g.put("cond.%s.task_mask" % task, mask)
    g.put("cond.%s.cond_latents" % task, p._prepare_cond_latents(task, img, latents, mask)[0])
recorded = []
real_randn_like = torch.randn_like


def recording_randn_like(t, *a, **k):
    n = real_randn_like(t, *a, **k)
    recorded.append(n.clone())
    return n


torch.manual_seed(77)
torch.randn_like = recording_randn_like
try:
    mixed = p.add_noise_to_lq(lq_up, 0.7)
finally:
    torch.randn_like = real_randn_like
g.put("cond.lq_noise", recorded[0][0])
g.put("cond.lq_mixed", mixed[0])
g.put("cond.lq_cond", p._prepare_lq_cond_latents(mixed)[0])
g.write()


# ---------------------------------------------------------------- SR flow, end to end
class StandInTransformer(torch.nn.Module):
    """The SR DiT's seam: velocity = W x + (t / 1000) b per latent pixel, W [32, 98] and b [32]
    from det(). Records (input, t) of every call."""

    def __init__(self, ideal_resolution):
        super().__init__()
        self.w = det("standin.velocity.weight", [32, 98], "w")
        self.b = det("standin.velocity.bias", [32], "unit")
        self.config = official_env._Config(ideal_resolution=ideal_resolution, use_meanflow=False)
        self.calls = []

    @property
    def dtype(self):
        return torch.float32

    def forward(self, x, t, *args, **kwargs):
        self.calls.append((x.clone(), t.clone()))
        v = torch.einsum("ok,bkthw->bothw", self.w, x)
        v = v + (t.view(-1, 1, 1, 1, 1) / 1000.0) * self.b.view(1, -1, 1, 1, 1)
        return (v,)


# The bucket bases are scaled down (480p: 48 px, 720p: 64 px, 1080p: 80 px) so the SR grids are
# 4x4 (720p_sr from 3x3) and 5x5 latents (1080p_sr from 4x4); the bucket rule, resize, upsampler,
# condition, schedule and decode are the official code's.
srp.SizeMap["480p"] = 48
srp.SizeMap["720p"] = 64
srp.SizeMap["1080p"] = 80
SR_VAE = {"_class_name": "AutoencoderKLConv3D", "block_out_channels": [8, 16, 32, 64, 64],
          "downsample_match_channel": True, "ffactor_spatial": 16, "ffactor_temporal": 4,
          "in_channels": 3, "latent_channels": 32, "layers_per_block": 1, "out_channels": 3,
          "sample_size": 32, "sample_tsize": 4, "scaling_factor": 1.03682, "shift_factor": None,
          "upsample_match_channel": True}
SR_UP = {"_class_name": "SRTo720pUpsampler", "in_channels": 32, "out_channels": 32,
         "hidden_channels": 8, "num_blocks": 2, "global_residual": False}
SR_UP_1080 = {"_class_name": "SRTo1080pUpsampler", "z_channels": 32, "out_channels": 32,
              "block_out_channels": [32, 16], "num_res_blocks": 1, "is_residual": False}


def run_flow(tag, frames, output_type, g, version="720p_sr_distilled", up_cfg=SR_UP, lq_side=3):
    p = bare_sr_pipeline()
    cfg = dict(SR_PIPELINE_CONFIGS[version])  # steps, shift 2, CFG 1, base resolution
    p.config = official_env._Config(glyph_byT5_v2=False, vision_num_semantic_tokens=3,
                                    vision_states_dim=4, **cfg)
    p.transformer = StandInTransformer(version.split("_")[0])
    up_cls = SRTo720pUpsampler if up_cfg["_class_name"] == "SRTo720pUpsampler" else SRTo1080pUpsampler
    p.upsampler = fill(up_cls(**{k: v for k, v in up_cfg.items()
                                 if not k.startswith("_")})).eval()
    p.vae = vae_of(SR_VAE)
    p.vae.set_tile_sample_min_size(32, 0.5)  # tile 2 latents, stride 1, blend 16 px
    p.encode_prompt = lambda *a, **k: (torch.zeros(1, 2, 8), None, torch.ones(1, 2), None)
    rec = {}
    real_prepare = p.prepare_latents

    def prepare_latents(*a, **k):
        rec["latents"] = real_prepare(*a, **k).clone()
        return rec["latents"]

    p.prepare_latents = prepare_latents
    lq = det("golden.flow.%s.lq" % tag, [1, 32, frames, lq_side, lq_side], "unit")
    recorded.clear()
    torch.randn_like = recording_randn_like
    try:
        out = p(prompt="a stand-in prompt", video_length=(frames - 1) * 4 + 1, lq_latents=lq,
                seed=1234, output_type=output_type, return_dict=False,
                enable_vae_tile_parallelism=False)
    finally:
        torch.randn_like = real_randn_like
    g.put(tag + ".lq_latents", lq[0])
    g.put(tag + ".noise", rec["latents"][0])
    g.put(tag + ".lq_noise", recorded[0][0])
    g.put(tag + ".output", out[0])
    ts = torch.stack([c[1][0] for c in p.transformer.calls])
    g.put(tag + ".timesteps", ts)
    # per step: the sum over the latent pixels of every one of the 98 input channels
    g.put(tag + ".input_channel_sums",
          torch.stack([c[0][0].sum(dim=(1, 2, 3)) for c in p.transformer.calls]))
    g.meta[tag + ".sr_config"] = json.dumps(cfg)


for tag, frames, output_type in (("latent", 2, "latent"), ("video", 1, "pt")):
    # "latent": the final latents after the 6 Euler steps; "video": one latent frame decoded
    # by the tiled VAE, in [0, 1]
    g = Golden("sr_flow_%s.safetensors" % tag)
    g.meta["vae"] = json.dumps(SR_VAE)
    g.meta["upsampler"] = json.dumps(SR_UP)
    g.meta["tile"] = json.dumps({"sample_size": 32, "tile_overlap_factor": 0.5})
    g.meta["bucket_bases"] = json.dumps({"lr_base": 48, "hr_base": 64})
    g.meta["standin"] = ("velocity = W x + (t / 1000) b per latent pixel; "
                         "W = det('standin.velocity.weight', [32, 98], 'w'), "
                         "b = det('standin.velocity.bias', [32], 'unit')")
    run_flow(tag, frames, output_type, g)
    g.write()

# 1080p_sr_distilled: SRTo1080pUpsampler, 8 steps, base 720p; the final latents
g = Golden("sr_flow_1080p.safetensors")
g.meta["vae"] = json.dumps(SR_VAE)
g.meta["upsampler"] = json.dumps(SR_UP_1080)
g.meta["tile"] = json.dumps({"sample_size": 32, "tile_overlap_factor": 0.5})
g.meta["bucket_bases"] = json.dumps({"lr_base": 64, "hr_base": 80})
run_flow("latent", 2, "latent", g, "1080p_sr_distilled", SR_UP_1080, 4)
g.write()
