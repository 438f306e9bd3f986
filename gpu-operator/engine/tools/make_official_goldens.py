#!/usr/bin/env python3
"""Goldens from the official HunyuanVideo-1.5 code for the engine's transformer and scheduler.

Runs the official modules themselves (a checkout of Tencent-Hunyuan/HunyuanVideo-1.5 given on the
command line, never copied here) on Debian's python3-torch 1.13, CPU, float32, through
tools/official/official_env.py:

- HunyuanVideo_1_5_DiffusionTransformer on tiny configs (hidden 256, 2 heads x 128) for every path
  the released configs select: classifier-free guidance (batch 2) and CFG-distilled (batch 1), T2V
  (zero vision states, masked) and I2V (SigLIP states), the mean-flow timestep_r input of the
  step-distilled variant, the guidance embedding, single-stream blocks with a 1x2x2 patch, the SR
  variants' input channels (concat_condition false), the linear text projection / LayerNorm
  QK-norm / exact GELU options, and SSTA (attn_mode flex-block-attn through the exact block-sparse
  stand-in) over the padded text sequence: T2V and I2V, hybrid windows with repeat padding, a
  single-frame grid;
- FlowMatchDiscreteScheduler as the pipeline builds it for every variant (shift, steps from
  PIPELINE_CONFIGS / SR_PIPELINE_CONFIGS), with the mean-flow timestep_r sequence and one step.

The official ByT5Mapper is hard-coded 1472 -> 2048 -> 2048, so no weight is stored: every
parameter and every input is filled from one exactly reproducible formula of its name and element
index, which the Java tests compute too (dev.reelflow.engine.testing.FormulaValues):

    h    = FNV-1a 64 of the name's UTF-8 bytes
    z    = splitmix64 finaliser of (h + (i + 1) * 0x9E3779B97F4A7C15)   (all mod 2^64)
    u    = (z >> 40) / 2^23 - 1                                          (24 bits, in [-1, 1))
    parameter of rank 1 named *bias:  float32(0.1 * u)
    parameter of rank 1 otherwise:    float32(1 + 0.1 * u)              (norm weights)
    parameter of higher rank:         float32(u * sqrt(3 / fan_in)), fan_in = prod(shape[1:])
    input:                            float32(u)

Each golden file holds the outputs only, plus a JSON metadata entry "case" describing the config,
the inputs, the timestep and the official parameter names and shapes, so the files stay small.

Usage:  /usr/bin/python3 gpu-operator/engine/tools/make_official_goldens.py OFFICIAL_CHECKOUT OUT_DIR
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "official"))
import official_env  # noqa: E402

MASK64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


def fnv1a64(name):
    h = 0xCBF29CE484222325
    for b in name.encode("utf-8"):
        h ^= b
        h = (h * 0x100000001B3) & MASK64
    return h


def uniform(name, n):
    """u in [-1, 1) for element indices 0..n-1 of the named stream (float64, exact)."""
    i = np.arange(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(fnv1a64(name)) + (i + np.uint64(1)) * np.uint64(GAMMA)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(40)).astype(np.float64) / 8388608.0 - 1.0


def param_values(name, shape):
    n = int(np.prod(shape)) if len(shape) else 1
    u = uniform(name, n)
    if len(shape) == 1:
        v = 0.1 * u if name.endswith("bias") else 1.0 + 0.1 * u
    else:
        fan_in = int(np.prod(shape[1:]))
        v = u * math.sqrt(3.0 / fan_in)
    return torch.from_numpy(v.astype(np.float32).reshape(shape))


def input_values(name, shape):
    n = int(np.prod(shape))
    return torch.from_numpy(uniform(name, n).astype(np.float32).reshape(shape))


def fill_params(model):
    sd = model.state_dict()
    for k, v in sd.items():
        sd[k] = param_values(k, tuple(v.shape))
    model.load_state_dict(sd, strict=True)


# ---------------------------------------------------------------- safetensors writer
def write_safetensors(path, tensors, metadata):
    header, blobs, off = {"__metadata__": metadata}, [], 0
    for k, t in tensors.items():
        data = t.detach().contiguous().float().numpy().astype("<f4").tobytes()
        header[k] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------- transformer cases
BASE = {
    "_class_name": "HunyuanVideo_1_5_DiffusionTransformer",
    "patch_size": [1, 1, 1],
    "in_channels": 4,
    "concat_condition": True,
    "out_channels": 4,
    "hidden_size": 256,
    "heads_num": 2,
    "mlp_width_ratio": 2,
    "mlp_act_type": "gelu_tanh",
    "mm_double_blocks_depth": 1,
    "mm_single_blocks_depth": 0,
    "rope_dim_list": [16, 56, 56],
    "qkv_bias": True,
    "qk_norm": True,
    "qk_norm_type": "rms",
    "guidance_embed": False,
    "use_meanflow": False,
    "text_projection": "single_refiner",
    "use_attention_mask": True,
    "text_states_dim": 16,
    "text_states_dim_2": None,
    "text_pool_type": None,
    "rope_theta": 256,
    "attn_mode": "torch",
    "attn_param": None,
    "glyph_byT5_v2": True,
    "vision_projection": "linear",
    "vision_states_dim": 24,
    "is_reshape_temporal_channels": False,
    "use_cond_type_embedding": True,
}

SSTA_PARAM = {
    "win_size": [[1, 1, 1]],
    "win_type": "fixed",
    "win_ratio": 10,
    "tile_size": [2, 4, 4],
    "ssta_topk": 4,
    "ssta_threshold": 0.0,
    "ssta_lambda": 0.7,
    "ssta_sampling_type": "importance",
    "ssta_adaptive_pool": None,
    "attn_sparse_type": "ssta",
    "attn_pad_type": "zero",
    "attn_use_text_mask": 1,
    "attn_mask_share_within_head": 0,
}


def sample(text_valid, glyph_valid, vision):
    return {"text_valid": text_valid, "text_padded": 40, "glyph_valid": glyph_valid,
            "glyph_padded": 24, "vision": vision, "vision_tokens": 20}


def cfg(**over):
    c = dict(BASE)
    c.update(over)
    return c


CASES = {
    # 480p/720p T2V with classifier-free guidance: [negative "", positive] in one batch
    "t2v_cfg": dict(config=cfg(), size=[2, 4, 6], timestep=937.5, samples=[
        sample(1, 0, "t2v"), sample(13, 5, "t2v")]),
    # CFG-distilled I2V: batch 1, SigLIP states valid and first in the text stream
    "i2v_distilled": dict(config=cfg(ideal_task="i2v"), size=[2, 4, 6], timestep=500.0,
                          samples=[sample(11, 3, "i2v")]),
    # 480p I2V step-distilled: mean-flow timestep_r
    "i2v_meanflow": dict(config=cfg(use_meanflow=True, ideal_task="i2v"), size=[2, 4, 6],
                         timestep=875.0, timestep_r=750.0, samples=[sample(9, 0, "i2v")]),
    # a guidance-embedded config (none is released; the path exists upstream)
    "guidance_embed": dict(config=cfg(guidance_embed=True), size=[2, 4, 6], timestep=300.0,
                           guidance=6000.0, samples=[sample(7, 2, "t2v")]),
    # single-stream blocks and a 1x2x2 patch
    "single_patch": dict(config=cfg(mm_single_blocks_depth=2, patch_size=[1, 2, 2]),
                         size=[2, 4, 8], timestep=640.0, samples=[
                             sample(1, 0, "t2v"), sample(12, 4, "t2v")]),
    # the SR variants: condition channels given whole (latents + image cond + mask + lq + ones)
    "sr_channels": dict(config=cfg(in_channels=14, concat_condition=False, out_channels=4),
                        size=[2, 4, 6], timestep=812.5, samples=[sample(10, 0, "t2v")]),
    # the constructor's other options: linear text projection, LayerNorm QK-norm, exact GELU,
    # no qkv bias, no condition-type embedding, no vision projection
    "alt_options": dict(config=cfg(text_projection="linear", qk_norm_type="layer",
                                   mlp_act_type="gelu", qkv_bias=False,
                                   use_cond_type_embedding=False, vision_projection="none"),
                        size=[2, 4, 6], timestep=100.0, samples=[sample(6, 3, "t2v")]),
    # SSTA over the padded text: T2V (the vision tokens are padding right after the valid text)
    "ssta_t2v": dict(config=cfg(attn_mode="flex-block-attn", attn_param=SSTA_PARAM,
                                mm_double_blocks_depth=2),
                     size=[4, 8, 12], timestep=900.0, samples=[
                         sample(1, 0, "t2v"), sample(13, 5, "t2v")]),
    # SSTA I2V: zero padding shares the second text tile; hybrid windows and repeat padding
    "ssta_i2v_hybrid": dict(config=cfg(
        attn_mode="flex-block-attn", mm_double_blocks_depth=2, mm_single_blocks_depth=1,
        attn_param=dict(SSTA_PARAM, win_type="hybrid", win_ratio=2, attn_pad_type="repeat",
                        win_size=[[1, 3, 3]])),
        size=[3, 7, 10], timestep=700.0, samples=[sample(13, 5, "i2v")]),
    # SSTA on one latent frame: the image tile (1x4x4 for 16-token blocks), window 1x1x1
    "ssta_image": dict(config=cfg(attn_mode="flex-block-attn",
                                  attn_param=dict(SSTA_PARAM, tile_size=[1, 4, 4])),
                       size=[1, 8, 12], timestep=450.0, samples=[sample(5, 2, "t2v")]),
}


def run_case(name, case):
    from hyvideo.models.transformers.hunyuanvideo_1_5_transformer import (
        HunyuanVideo_1_5_DiffusionTransformer,
    )

    c = {k: v for k, v in case["config"].items() if not k.startswith("_")}
    model = HunyuanVideo_1_5_DiffusionTransformer(**c)
    fill_params(model)
    model.eval()
    b = len(case["samples"])
    ch = model.img_in.proj.weight.shape[1]
    t, h, w = case["size"]
    x = input_values("x", (ch, t, h, w))
    hidden = x.unsqueeze(0).repeat(b, 1, 1, 1, 1)
    s0 = case["samples"][0]
    lt, lg, lv = s0["text_padded"], s0["glyph_padded"], s0["vision_tokens"]
    text = torch.zeros(b, lt, c["text_states_dim"])
    text_mask = torch.zeros(b, lt, dtype=torch.int64)
    byt5 = torch.zeros(b, lg, 1472)
    byt5_mask = torch.zeros(b, lg, dtype=torch.int64)
    vision = torch.zeros(b, lv, c["vision_states_dim"])
    for i, s in enumerate(case["samples"]):
        # padding positions hold encoder output too (junk the model must not see)
        text[i] = input_values("text.%d" % i, (lt, c["text_states_dim"]))
        text_mask[i, : s["text_valid"]] = 1
        byt5[i] = input_values("glyph.%d" % i, (lg, 1472))
        byt5_mask[i, : s["glyph_valid"]] = 1
        if s["vision"] == "i2v":
            vision[i] = input_values("vision.%d" % i, (lv, c["vision_states_dim"]))
    mask_type = case["samples"][0]["vision"]
    ts = torch.tensor([case["timestep"]] * b, dtype=torch.float32)
    tr = None
    if "timestep_r" in case:
        tr = torch.tensor([case["timestep_r"]] * b, dtype=torch.float32)
    guidance = None
    if "guidance" in case:
        guidance = torch.tensor([case["guidance"]] * b, dtype=torch.float32)
    out = model(hidden, ts, text, None, text_mask, timestep_r=tr,
                vision_states=vision if c["vision_projection"] == "linear" else None,
                mask_type=mask_type, guidance=guidance,
                extra_kwargs={"byt5_text_states": byt5, "byt5_text_mask": byt5_mask})[0]
    meta = dict(case)
    meta["name"] = name
    # the official parameter names and shapes, which the engine's declaration must equal
    meta["params"] = {k: list(v.shape) for k, v in model.state_dict().items()}
    return {"out": out[:, :, :, :, :]}, meta


# ---------------------------------------------------------------- scheduler
def scheduler_goldens():
    from hyvideo.commons import PIPELINE_CONFIGS, SR_PIPELINE_CONFIGS
    from hyvideo.schedulers.scheduling_flow_match_discrete import FlowMatchDiscreteScheduler

    tensors, table = {}, {}
    for name, pc in list(PIPELINE_CONFIGS.items()) + list(SR_PIPELINE_CONFIGS.items()):
        # the pipeline's defaults where a config leaves a value out (__init__ signature)
        steps = pc.get("num_inference_steps", 50)
        shift = pc.get("flow_shift", 7.0)
        sched = FlowMatchDiscreteScheduler(shift=shift, reverse=True, solver="euler")
        sched.set_timesteps(steps)
        ts = sched.timesteps
        # the pipeline's mean-flow timestep_r: the next timestep, 0 at the last step
        tr = torch.cat([ts[1:], torch.zeros(1)])
        # one Euler step from a formula sample with a formula velocity, at the middle step
        x = input_values("sched.x", (2, 3))
        v = input_values("sched.v", (2, 3))
        mid = steps // 2
        sched._step_index = mid
        stepped = sched.step(v, ts[mid], x, return_dict=False)[0]
        tensors["%s.sigmas" % name] = sched.sigmas
        tensors["%s.timesteps" % name] = ts
        tensors["%s.timesteps_r" % name] = tr
        tensors["%s.step_mid" % name] = stepped
        table[name] = {"steps": steps, "shift": shift,
                       "guidance_scale": pc.get("guidance_scale", 6.0),
                       "embedded_guidance_scale": pc.get("embedded_guidance_scale")}
        if "base_resolution" in pc:
            table[name]["base_resolution"] = pc["base_resolution"]
    return tensors, table


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    checkout, out_dir = sys.argv[1], sys.argv[2]
    official_env.setup(checkout)
    torch.manual_seed(0)
    os.makedirs(out_dir, exist_ok=True)
    only = set(os.environ.get("CASES", "").split(",")) - {""}
    for name, case in CASES.items():
        if only and name not in only:
            continue
        tensors, meta = run_case(name, case)
        path = os.path.join(out_dir, "dit_%s.safetensors" % name)
        write_safetensors(path, tensors, {"case": json.dumps(meta, sort_keys=True)})
        print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))
    tensors, table = scheduler_goldens()
    from hyvideo.commons import TRANSFORMER_VERSION_TO_SR_VERSION
    path = os.path.join(out_dir, "scheduler.safetensors")
    write_safetensors(path, tensors, {
        "pipeline_configs": json.dumps(table, sort_keys=True),
        "sr_versions": json.dumps(TRANSFORMER_VERSION_TO_SR_VERSION, sort_keys=True)})
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))


if __name__ == "__main__":
    main()
