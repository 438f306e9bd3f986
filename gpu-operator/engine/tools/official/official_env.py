"""Makes the official HunyuanVideo-1.5 modules importable on Debian's python3-torch 1.13.

ReelFlow's golden generators run the official code itself (a checkout of the public repository,
given on the command line; never copied into ReelFlow) on the CPU in float32. Packages that cannot
be installed here are replaced by small stand-ins:

- einops, loguru: `standins/` (rearrange only; a stdlib logger);
- diffusers: the mixins the official classes inherit (ModelMixin is nn.Module, ConfigMixin stores
  the constructor arguments as `config`, register_to_config records them), BaseOutput,
  DiagonalGaussianDistribution, SchedulerMixin;
- attention kernels: torch 2.x `flex_attention`, `scaled_dot_product_attention` and Tencent's `flex_block_attn_func` become exact
  softmax implementations in which a fully masked query row gives 0 (as those kernels do), not NaN;
- transformers, peft, safetensors, PIL, torchvision, ...: placeholders that fail if actually used
  (the modules we run only import them); their attributes are placeholders too;
- DiffusionPipeline: progress_bar and maybe_free_model_hooks, enough to call a pipeline's
  __call__ on an instance set up without __init__;
- torch 2.x names the code touches at import time (torch.compile, torch.compiler.disable,
  torch._dynamo.config, torch.distributed.device_mesh).
"""
import importlib
import importlib.abc
import importlib.machinery
import logging
import math
import os
import sys
import types

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------- exact attention stand-ins
def exact_masked_attention(q, k, v, keep, scale=None, bias=None):
    """softmax(q k^T * scale) v over kept (q, k) pairs; rows with nothing kept give 0.

    q, k, v: [B, H, S, D]; keep: bool broadcastable to [B, H, Sq, Sk] or None; bias: added to the
    scores of kept pairs.
    """
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = torch.matmul(q.float(), k.float().transpose(-1, -2)) * scale
    if bias is not None:
        s = s + bias
    if keep is not None:
        s = s.masked_fill(~keep, float("-inf"))
    m = s.amax(-1, keepdim=True)
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    p = torch.exp(s - m)
    denom = p.sum(-1, keepdim=True)
    p = torch.where(denom > 0, p / denom.clamp_min(1e-30), torch.zeros_like(p))
    return torch.matmul(p, v.float()).to(q.dtype)


def flex_attention(query, key, value, score_mod=None, block_mask=None, scale=None, **_):
    """torch.nn.attention.flex_attention for the official code's score_mod (a -inf mask)."""
    b, h, sq, _ = query.shape
    sk = key.shape[2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    s = torch.matmul(query.float(), key.float().transpose(-1, -2)) * scale
    if score_mod is not None:
        bi = torch.arange(b).view(b, 1, 1, 1)
        hi = torch.arange(h).view(1, h, 1, 1)
        qi = torch.arange(sq).view(1, 1, sq, 1)
        ki = torch.arange(sk).view(1, 1, 1, sk)
        s = score_mod(s, bi, hi, qi, ki)
    keep = torch.isfinite(s)
    return exact_masked_attention(query, key, value, keep, scale=scale) if not keep.all() else \
        torch.matmul(torch.softmax(s, -1), value.float()).to(query.dtype)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False,
                                 scale=None):
    """torch 2.x F.scaled_dot_product_attention, exact: a bool mask keeps pairs, a float mask is
    added to the scores (the VAE's causal mask uses -inf); fully masked rows give 0."""
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    if attn_mask is not None and attn_mask.dtype != torch.bool:
        s = torch.matmul(query.float(), key.float().transpose(-1, -2)) * scale + attn_mask.float()
        keep = torch.isfinite(s)
        bias = torch.where(keep, attn_mask.float(), torch.zeros_like(s))
        return exact_masked_attention(query, key, value, keep, scale=scale, bias=bias)
    keep = attn_mask
    if is_causal:
        causal = torch.ones(query.shape[-2], key.shape[-2], dtype=torch.bool).tril()
        keep = causal if keep is None else keep & causal
    return exact_masked_attention(query, key, value, keep, scale=scale)


def flex_block_attn_func(q, k, v, q_block, kv_block, block_mask):
    """Tencent's flex_block_attn_func: exact softmax inside every kept (q block, kv block)."""
    if block_mask.dim() == 2:
        block_mask = block_mask[None, None]
    keep = block_mask.repeat_interleave(q_block, dim=-2).repeat_interleave(kv_block, dim=-1)
    keep = keep[..., : q.shape[2], : k.shape[2]]
    return exact_masked_attention(q, k, v, keep)


# ---------------------------------------------------------------- diffusers stand-ins
class _Config(dict):
    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as e:
            raise AttributeError(name) from e


def register_to_config(init):
    import functools
    import inspect

    sig = inspect.signature(init)

    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        bound = sig.bind(self, *args, **kwargs)
        bound.apply_defaults()
        cfg = {k: v for k, v in list(bound.arguments.items())[1:] if k != "kwargs"}
        cfg.update(bound.arguments.get("kwargs", {}) or {})
        if isinstance(self, nn.Module):
            nn.Module.__init__(self)
        object.__setattr__(self, "_internal_dict", _Config(cfg))
        init(self, *args, **kwargs)

    return wrapper


class ConfigMixin:
    config_name = "config.json"

    @property
    def config(self):
        return self.__dict__.get("_internal_dict", _Config())

    def register_to_config(self, **kwargs):
        self.__dict__.setdefault("_internal_dict", _Config()).update(kwargs)


class ModelMixin(nn.Module):
    @property
    def dtype(self):
        return next(self.parameters()).dtype

    @property
    def device(self):
        return next(self.parameters()).device


class BaseOutput(dict):
    def __init__(self, *args, **kwargs):
        super().__init__()
        names = list(getattr(self, "__dataclass_fields__", {}).keys())
        for n, a in zip(names, args):
            self[n] = a
        self.update(kwargs)

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as e:
            raise AttributeError(name) from e

    def __setattr__(self, name, value):
        self[name] = value

    def __getitem__(self, k):
        if isinstance(k, int):
            return list(self.values())[k]
        return super().__getitem__(k)

    def to_tuple(self):
        return tuple(self.values())


class DiagonalGaussianDistribution:
    def __init__(self, parameters, deterministic=False):
        self.parameters = parameters
        self.mean, self.logvar = torch.chunk(parameters, 2, dim=1)
        self.logvar = torch.clamp(self.logvar, -30.0, 20.0)
        self.std = torch.exp(0.5 * self.logvar)

    def mode(self):
        return self.mean

    def sample(self, generator=None):
        return self.mean + self.std * torch.randn(self.mean.shape, generator=generator)


class DiffusionPipeline:
    """The pipeline base, enough to call the official pipelines' __call__ on an instance whose
    modules and config a generator sets itself (bypassing __init__, which loads checkpoints)."""

    def progress_bar(self, total=None, **_):
        import contextlib

        return contextlib.nullcontext(types.SimpleNamespace(update=lambda *a, **k: None))

    def maybe_free_model_hooks(self):
        pass


class _PlaceholderMeta(type):
    """Attributes of a placeholder are placeholders too (``from PIL import Image`` then
    ``Image.Image`` in an annotation)."""

    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _PlaceholderMeta(name, (_Placeholder,), {})


class _Placeholder(metaclass=_PlaceholderMeta):
    """A name the official code imports but the modules we run never use."""

    def __init__(self, *a, **k):
        raise RuntimeError(f"{type(self).__name__} is a ReelFlow import stand-in and cannot be used")

    @classmethod
    def from_pretrained(cls, *a, **k):
        raise RuntimeError(f"{cls.__name__} is a ReelFlow import stand-in and cannot be used")


def _module(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    m.__path__ = []  # a package, so submodules resolve through the finder
    sys.modules[name] = m
    return m


class _PlaceholderModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _PlaceholderMeta(name, (_Placeholder,), {})


class _PlaceholderFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Any import under the listed top-level packages yields a placeholder module."""

    def __init__(self, roots):
        self.roots = set(roots)

    def find_spec(self, fullname, path, target=None):
        if fullname.split(".")[0] in self.roots and fullname not in sys.modules:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        m = _PlaceholderModule(spec.name)
        m.__path__ = []
        return m

    def exec_module(self, module):
        pass


def _patch_torch():
    if not hasattr(torch, "compile"):
        torch.compile = lambda fn=None, **_: fn if fn is not None else (lambda f: f)
    if not hasattr(torch, "compiler"):
        torch.compiler = _module("torch.compiler", disable=lambda fn=None, **_: fn)
    dyn = sys.modules.get("torch._dynamo") or _module("torch._dynamo")
    if not hasattr(dyn, "config"):
        dyn.config = types.SimpleNamespace()
    torch._dynamo = dyn
    _module("torch.nn.attention")
    _module("torch.nn.attention.flex_attention", flex_attention=flex_attention)
    if not hasattr(torch.nn.functional, "scaled_dot_product_attention"):
        torch.nn.functional.scaled_dot_product_attention = scaled_dot_product_attention
    if "torch.distributed.device_mesh" not in sys.modules:
        try:
            importlib.import_module("torch.distributed.device_mesh")  # torch >= 2.2
        except ImportError:
            _module("torch.distributed.device_mesh", init_device_mesh=lambda *a, **k: None)


def _install_diffusers():
    _module("diffusers")
    _module("diffusers.configuration_utils", ConfigMixin=ConfigMixin,
            register_to_config=register_to_config, FrozenDict=_Config)
    _module("diffusers.image_processor",
            VaeImageProcessor=type("VaeImageProcessor", (_Placeholder,), {}))
    _module("diffusers.models", ModelMixin=ModelMixin,
            AutoencoderKL=type("AutoencoderKL", (_Placeholder,), {}))
    _module("diffusers.models.modeling_utils", ModelMixin=ModelMixin)
    _module("diffusers.models.autoencoders")
    _module("diffusers.models.autoencoders.vae", BaseOutput=BaseOutput,
            DiagonalGaussianDistribution=DiagonalGaussianDistribution)
    _module("diffusers.models.modeling_outputs",
            AutoencoderKLOutput=type("AutoencoderKLOutput", (BaseOutput,), {}))
    _module("diffusers.loaders", )
    _module("diffusers.loaders.peft", PeftAdapterMixin=type("PeftAdapterMixin", (), {}))
    _module("diffusers.schedulers", KarrasDiffusionSchedulers=type("KarrasDiffusionSchedulers", (), {}))
    _module("diffusers.schedulers.scheduling_utils", SchedulerMixin=type("SchedulerMixin", (), {}))
    _module("diffusers.utils", BaseOutput=BaseOutput,
            logging=types.SimpleNamespace(get_logger=logging.getLogger),
            deprecate=lambda *a, **k: None,
            get_adapter_name=lambda *a, **k: None)
    _module("diffusers.utils.torch_utils", randn_tensor=lambda shape, generator=None, device=None,
            dtype=None: torch.randn(shape, generator=generator, dtype=dtype))
    _module("diffusers.pipelines")
    _module("diffusers.pipelines.pipeline_utils", DiffusionPipeline=DiffusionPipeline)
    _module("diffusers.hooks")
    _module("diffusers.hooks.group_offloading", _is_group_offload_enabled=lambda *a, **k: False)
    _module("flex_block_attn", flex_block_attn_func=flex_block_attn_func)


_READY = False


def setup(official_dir, real=()):
    """Puts the stand-ins and the official checkout on sys.path; call before importing hyvideo.

    ``real`` names placeholder packages to import for real instead (e.g. ``("PIL",)`` where
    Debian's python3-pil is installed: the official image handling then runs as released)."""
    global _READY
    if not os.path.isdir(os.path.join(official_dir, "hyvideo")):
        sys.exit(f"{official_dir} is not a checkout of the official HunyuanVideo-1.5 repository "
                 "(no hyvideo/ folder)")
    if _READY:
        return
    sys.path.insert(0, os.path.join(HERE, "standins"))
    sys.path.insert(0, official_dir)
    _patch_torch()
    _install_diffusers()
    for name in real:
        importlib.import_module(name)  # fails here, naming the package, when it is not installed
    sys.meta_path.insert(0, _PlaceholderFinder(
        [p for p in ["transformers", "peft", "safetensors", "PIL", "torchvision", "accelerate",
                     "sageattention", "angelslim", "imageio", "openai", "requests"]
         if p not in real]))
    # the official parallel state asks for a rank: a one-process gloo group answers 0
    import tempfile
    import torch.distributed as dist

    if dist.is_available() and not dist.is_initialized():
        store = tempfile.NamedTemporaryFile(prefix="official-pg-", delete=False).name
        dist.init_process_group("gloo", init_method="file://" + store, rank=0, world_size=1)
    # flash_attn stays absent, so the official code falls back to its "torch" attention mode; the
    # SSTA path checks for an H-series GPU before using flex_block_attn: our stand-in runs anywhere
    import hyvideo.commons as commons

    commons.is_sparse_attn_supported = lambda: True
    torch.set_grad_enabled(False)
    _READY = True
