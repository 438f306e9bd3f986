"""A STAND-IN for the official HunyuanVideo-1.5 pipeline classes, for testing the reference
resident server where the official package is not installed (CI). No model, no torch: it has the
entry points the server calls, with the official pipeline's calling pattern (a diffusers progress
bar updated once per denoising step, the VAE's decode called with the scaled latents, a banner
printed to stdout), and renders a gradient from numpy.

Prompt keywords choose failures: [oom] (an OutOfMemoryError), [valueerror] (the official code's
argument checks), [bug] (any other exception), [slow] (0.1 s per step).
"""
import time

import numpy as np

CREATED = []  # every pipeline create_pipeline made, for the tests


class OutOfMemoryError(RuntimeError):
    """Named like torch.cuda.OutOfMemoryError."""


class InferState:
    def __init__(self, **kwargs):
        self.kwargs = kwargs


class Config:
    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)


class StandInVae:
    def __init__(self):
        self.config = Config(scaling_factor=0.5, shift_factor=0.25)
        self.decoded = []

    def decode(self, z, return_dict=True, generator=None):
        self.decoded.append(z)
        b, c, f, h, w = z.shape
        frames = (f - 1) * 4 + 1
        t = np.linspace(0.0, 1.0, frames, dtype=np.float32)[:, None, None]
        y = np.linspace(0.0, 1.0, h * 16, dtype=np.float32)[None, :, None]
        x = np.linspace(0.0, 1.0, w * 16, dtype=np.float32)[None, None, :]
        r = np.broadcast_to((x + t) % 1.0, (frames, h * 16, w * 16))
        g = np.broadcast_to(y, (frames, h * 16, w * 16))
        bl = np.broadcast_to(0.5 + 0.0 * x, (frames, h * 16, w * 16))
        video = np.stack([r, g, bl])[None] * 2.0 - 1.0  # the VAE's [-1, 1]
        return (video,)


def latents_for(seed, channels, frames, h, w):
    rng = np.random.RandomState(seed % (2 ** 31))
    return rng.standard_normal((1, channels, (frames - 1) // 4 + 1, h // 16, w // 16)).astype(
        np.float32)


class ProgressBar:
    """What the official pipeline gets from diffusers' progress_bar when nobody replaced it."""

    def __init__(self, owner, total):
        self.owner = owner
        self.total = total

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n=1):
        self.owner.unobserved_updates += n


class Output:
    def __init__(self, videos):
        self.videos = videos


class StandInSrPipeline:
    def __init__(self):
        self.config = Config(num_inference_steps=6)
        self.execution_device = "cpu"
        self.calls = []
        self.unobserved_updates = 0

    def apply_infer_optimization(self, **kwargs):
        self.optimization = kwargs

    def progress_bar(self, iterable=None, total=None):
        return ProgressBar(self, total)

    def __call__(self, prompt, video_length, num_inference_steps=None, guidance_scale=None,
                 negative_prompt=None, num_videos_per_prompt=1, generator=None, seed=None,
                 embedded_guidance_scale=None, reference_image=None, lq_latents=None,
                 output_type="pt", return_dict=True, enable_vae_tile_parallelism=True, **kwargs):
        self.calls.append({"prompt": prompt, "video_length": video_length, "seed": seed,
                           "lq_latents": np.array(lq_latents)})
        steps = num_inference_steps or self.config.num_inference_steps
        with self.progress_bar(total=steps) as bar:
            for _ in range(steps):
                bar.update()
        _, c, f, h, w = lq_latents.shape
        frames = video_length
        video = np.full((1, 3, frames, h * 32, w * 32), 0.25, dtype=np.float32)
        return Output(video)


class HunyuanVideo_1_5_Pipeline:
    """Stand-in with the official class's name and the entry points the server calls."""

    def __init__(self, **kwargs):
        self.created_with = kwargs
        self.vae = StandInVae()
        self.config = Config(num_inference_steps=50)
        self.transformer = object()
        self.calls = []
        self.unobserved_updates = 0
        if kwargs.get("create_sr_pipeline"):
            self.sr_pipeline = StandInSrPipeline()

    @staticmethod
    def get_transformer_version(resolution, task, cfg_distilled=False, step_distilled=False,
                                sparse_attn=False):
        parts = [resolution, task]
        if step_distilled:
            parts.append("step_distilled")
        elif cfg_distilled or sparse_attn:
            parts.append("distilled")
            if sparse_attn:
                parts.append("sparse")
        return "_".join(parts)

    @staticmethod
    def get_offloading_config(memory_limitation=None):
        return {"enable_offloading": True, "enable_group_offloading": False}

    @classmethod
    def create_pipeline(cls, pretrained_model_name_or_path, transformer_version,
                        create_sr_pipeline=False, transformer_dtype=None, device=None,
                        transformer_init_device=None, **kwargs):
        p = cls(pretrained_model_name_or_path=pretrained_model_name_or_path,
                transformer_version=transformer_version, create_sr_pipeline=create_sr_pipeline,
                device=device, transformer_init_device=transformer_init_device)
        CREATED.append(p)
        return p

    def apply_infer_optimization(self, infer_state=None, enable_offloading=False,
                                 enable_group_offloading=False, overlap_group_offloading=True):
        self.optimization = {"infer_state": infer_state, "enable_offloading": enable_offloading,
                             "enable_group_offloading": enable_group_offloading}

    def progress_bar(self, iterable=None, total=None):
        return ProgressBar(self, total)

    def __call__(self, prompt, aspect_ratio, video_length, prompt_rewrite=True,
                 num_inference_steps=None, guidance_scale=None, enable_sr=True,
                 sr_num_inference_steps=None, negative_prompt=None, generator=None, seed=None,
                 flow_shift=None, embedded_guidance_scale=None, reference_image=None,
                 output_type="pt", return_dict=True, return_pre_sr_video=False,
                 enable_vae_tile_parallelism=True, **kwargs):
        self.calls.append(dict(prompt=prompt, aspect_ratio=aspect_ratio, video_length=video_length,
                               steps=num_inference_steps, seed=seed, guidance=guidance_scale,
                               reference_image=reference_image, prompt_rewrite=prompt_rewrite,
                               enable_sr=enable_sr))
        print("=" * 20 + " HunyuanVideo Generation Task (stand-in banner on stdout) " + "=" * 20)
        if "[valueerror]" in prompt:
            raise ValueError("aspect_ratio must be separated by a colon")
        width, height = (int(v) for v in aspect_ratio.split(":"))
        steps = num_inference_steps or self.config.num_inference_steps
        latents = latents_for(seed, 4, video_length, height, width)
        self.final_latents = latents
        with self.progress_bar(total=steps) as bar:
            for i in range(steps):
                if "[slow]" in prompt:
                    time.sleep(0.1)
                if "[oom]" in prompt and i == 1:
                    raise OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
                if "[bug]" in prompt and i == 1:
                    raise KeyError("double_blocks.3")
                bar.update()
        z = latents / self.vae.config.scaling_factor + self.vae.config.shift_factor
        video = self.vae.decode(z, return_dict=False, generator=generator)[0]
        return Output((video / 2 + 0.5).clip(0, 1))


class CallbackPipeline(HunyuanVideo_1_5_Pipeline):
    """A pipeline whose __call__ takes diffusers' callback_on_step_end (and never reports through
    its progress bar), for the server's callback path."""

    def __call__(self, prompt, aspect_ratio, video_length, num_inference_steps=None, seed=None,
                 callback_on_step_end=None, **kwargs):
        width, height = (int(v) for v in aspect_ratio.split(":"))
        steps = num_inference_steps or 50
        latents = latents_for(seed, 4, video_length, height, width)
        self.final_latents = latents
        for i in range(steps):
            if callback_on_step_end is not None:
                callback_on_step_end(self, i, 1000 - i, {})
        z = latents / self.vae.config.scaling_factor + self.vae.config.shift_factor
        video = self.vae.decode(z, return_dict=False)[0]
        return Output((video / 2 + 0.5).clip(0, 1))


def double_size(frames, width, height, report):
    """A frame upscaler for --upscaler: nearest-neighbour to (height, width), one batch per frame."""
    out = []
    for i, f in enumerate(frames):
        ys = (np.arange(height) * f.shape[0] // height)[:, None]
        xs = (np.arange(width) * f.shape[1] // width)[None, :]
        out.append(f[ys, xs])
        report(i + 1, len(frames))
    return np.stack(out)
