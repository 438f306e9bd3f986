#!/usr/bin/env python3
"""ReelFlow's reference resident server for the official HunyuanVideo-1.5 pipeline.

It imports the user's installed official package (the `hyvideo` package of the
Tencent-Hunyuan/HunyuanVideo-1.5 repository, with its requirements), loads the pipeline ONCE
with the user's checkpoint directory and options, then serves ReelFlow's resident protocol
(gpu-operator/docs/resident-protocol.md) on stdin/stdout: one task at a time, per-step progress,
cancellation at the next step, the video (and the latents for the SR stage) written into the
task's directory.

This file is ReelFlow's own code; it contains no code of the official project. It calls the
official pipeline's public entry points (create_pipeline, apply_infer_optimization, __call__,
the SR pipeline's __call__) and observes two things without changing them: each denoising step
(through the pipeline's step callback where its __call__ offers `callback_on_step_end`, else
through its diffusers progress bar) and the latents handed to the VAE's decode.

  --stage base     the text/image-to-video pipeline (480p or 720p transformer variant)
  --stage upscale  the official SR pipeline (latent upsampler + SR transformer) fed with the base
                   stage's latents, or --upscaler MODULE:FUNCTION, any frame upscaler

Run `python3 hunyuan_resident_server.py --help` for every option; the README's "Resident engines"
section shows how `reelflow worker` starts it.
"""
import argparse
import importlib
import inspect
import json
import os
import struct
import sys
import threading
import time
import traceback
import urllib.request

PROTOCOL = 1


class TaskCancelled(Exception):
    """Raised inside the pipeline at the next step after a cancel message."""


class BadParameters(Exception):
    """The task asks for something this loaded model can never do (permanent failure)."""


# --------------------------------------------------------------------------------------- output


class Channel:
    """The protocol's stdout: one JSON object per line, flushed, from any thread."""

    def __init__(self, stream):
        self.stream = stream
        self.lock = threading.Lock()

    def send(self, message):
        line = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
        with self.lock:
            self.stream.write(line + "\n")
            self.stream.flush()


def protocol_stdout():
    """Keeps the real stdout for protocol lines and sends everything else printed to stderr.

    The official pipeline prints a banner with print(); libraries may write to fd 1 from C. Both
    must not reach the protocol stream, so fd 1 becomes a copy of fd 2 and the protocol gets a
    private duplicate of the original stdout.
    """
    sys.stdout.flush()
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return proto


def log(text):
    sys.stderr.write(text.rstrip() + "\n")
    sys.stderr.flush()


# --------------------------------------------------------------------------------- array helpers


def to_numpy(x):
    """A torch tensor (any device/dtype) or array-like as a float32 numpy array."""
    import numpy as np

    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=np.float32)


def frames_uint8(video):
    """Pipeline output (B, C, F, H, W) or (C, F, H, W) in [0, 1] as uint8 frames (F, H, W, 3)."""
    import numpy as np

    v = to_numpy(video)
    if v.ndim == 5:
        v = v[0]
    if v.ndim != 4 or v.shape[0] != 3:
        raise RuntimeError("expected the pipeline's video as (C=3, F, H, W), got %s" % (v.shape,))
    v = np.clip(np.rint(v * 255.0), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(v.transpose(1, 2, 3, 0))


def write_y4m(path, frames, fps):
    """RGB frames (F, H, W, 3) uint8 as YUV4MPEG2 4:2:0, full-range BT.601 ("C420jpeg").

    Uncompressed, so the worker's H.264 encode is the only lossy step; FFmpeg reads it.
    """
    import numpy as np

    count, height, width = frames.shape[0], frames.shape[1] & ~1, frames.shape[2] & ~1
    with open(path, "wb") as f:
        f.write(b"YUV4MPEG2 W%d H%d F%d:1 Ip A1:1 C420jpeg\n" % (width, height, int(fps)))
        for i in range(count):
            rgb = frames[i, :height, :width].astype(np.float32)
            r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
            y = 0.299 * r + 0.587 * g + 0.114 * b
            cb = 128.0 - 0.168736 * r - 0.331264 * g + 0.5 * b
            cr = 128.0 + 0.5 * r - 0.418688 * g - 0.081312 * b

            def half(c):
                return (c[0::2, 0::2] + c[1::2, 0::2] + c[0::2, 1::2] + c[1::2, 1::2]) / 4.0

            f.write(b"FRAME\n")
            for plane in (y, half(cb), half(cr)):
                f.write(np.clip(np.rint(plane), 0, 255).astype(np.uint8).tobytes())


def read_y4m(path):
    """A YUV4MPEG2 4:2:0 file as RGB frames (F, H, W, 3) uint8 (the inverse of write_y4m)."""
    import numpy as np

    with open(path, "rb") as f:
        header = f.readline().split()
        if not header or header[0] != b"YUV4MPEG2":
            raise ValueError("%s is not a YUV4MPEG2 file" % path)
        fields = {h[:1]: h[1:] for h in header[1:]}
        width, height = int(fields[b"W"]), int(fields[b"H"])
        if not fields.get(b"C", b"420jpeg").startswith(b"420"):
            raise ValueError("only 4:2:0 YUV4MPEG2 is read, %s has C%s" % (path, fields[b"C"]))
        frames = []
        while True:
            tag = f.readline()
            if not tag:
                break
            y = np.frombuffer(f.read(width * height), np.uint8).reshape(height, width)
            cb = np.frombuffer(f.read(width * height // 4), np.uint8).reshape(height // 2, width // 2)
            cr = np.frombuffer(f.read(width * height // 4), np.uint8).reshape(height // 2, width // 2)
            y = y.astype(np.float32)
            cb = cb.repeat(2, 0).repeat(2, 1).astype(np.float32) - 128.0
            cr = cr.repeat(2, 0).repeat(2, 1).astype(np.float32) - 128.0
            rgb = np.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], -1)
            frames.append(np.clip(np.rint(rgb), 0, 255).astype(np.uint8))
        return np.stack(frames)


def read_video(path):
    """RGB frames of a video: Y4M natively, anything else through imageio if it is installed."""
    if path.endswith(".y4m"):
        return read_y4m(path)
    try:
        import imageio.v3 as iio
    except ImportError as e:
        raise RuntimeError(
            "reading %s needs imageio with an FFmpeg plugin (pip install imageio[ffmpeg])" % path
        ) from e
    import numpy as np

    return np.asarray(iio.imread(path))


def write_latents(path, latents, metadata=None):
    """An F32 tensor `latents` (C, F, H, W) in safetensors format (no safetensors package)."""
    import numpy as np

    z = to_numpy(latents)
    if z.ndim == 5:
        z = z[0]
    data = np.ascontiguousarray(z, dtype="<f4").tobytes()
    header = {"latents": {"dtype": "F32", "shape": list(z.shape), "data_offsets": [0, len(data)]}}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        f.write(data)


def read_latents(path):
    """The `latents` tensor of a safetensors file (F32, F16 or BF16) as float32 numpy."""
    import numpy as np

    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        if "latents" not in header:
            raise BadParameters("%s has no tensor named 'latents'" % path)
        t = header["latents"]
        begin, end = t["data_offsets"]
        f.seek(8 + n + begin)
        raw = f.read(end - begin)
    if t["dtype"] == "F32":
        a = np.frombuffer(raw, "<f4")
    elif t["dtype"] == "F16":
        a = np.frombuffer(raw, "<f2").astype(np.float32)
    elif t["dtype"] == "BF16":
        a = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
    else:
        raise BadParameters("latents dtype %s is not F32, F16 or BF16" % t["dtype"])
    return a.reshape(t["shape"]).astype(np.float32)


# ------------------------------------------------------------------------------- step reporting


class Steps:
    """Reports each step of the running task and stops it at the next step after a cancel."""

    def __init__(self, server, task_id, phase):
        self.server = server
        self.task_id = task_id
        self.phase = phase
        self.done = 0

    def step(self, total):
        self.done += 1
        self.server.progress(self.task_id, self.phase, self.done, total)
        if self.server.cancel_requested(self.task_id):
            raise TaskCancelled()

    def progress_bar(self, iterable=None, total=None, **_):
        """Stands in for DiffusionPipeline.progress_bar (a tqdm) for one __call__."""
        steps = self
        total = total if total is not None else (len(iterable) if iterable is not None else 0)

        class Bar:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def update(self, n=1):
                for _ in range(n):
                    steps.step(total)

            def __iter__(self):
                for item in iterable or ():
                    yield item
                    steps.step(total)

        return Bar()

    def callback(self, total):
        """A diffusers-style callback_on_step_end(pipe, i, t, kwargs) -> kwargs."""

        def on_step_end(_pipe, _i, _t, kwargs):
            self.step(total)
            return kwargs

        return on_step_end


def observed_call(pipe, steps, total, kwargs):
    """Calls a pipeline and reports its steps: through callback_on_step_end where its __call__
    takes one, else through its progress bar (both leave the pipeline's computation unchanged)."""
    params = inspect.signature(pipe.__call__).parameters
    if "callback_on_step_end" in params and total:
        return pipe(callback_on_step_end=steps.callback(total), **kwargs)
    previous = pipe.__dict__.get("progress_bar")
    pipe.progress_bar = steps.progress_bar
    try:
        return pipe(**kwargs)
    finally:
        if previous is None:
            del pipe.progress_bar
        else:
            pipe.progress_bar = previous


class DecodeInput:
    """Records the first latents a VAE decodes during one pipeline call (the final latents of the
    denoiser, scaled for the VAE), and turns them back into the denoiser's latent space."""

    def __init__(self, vae):
        self.vae = vae
        self.latents = None

    def __enter__(self):
        original = self.vae.decode

        def decode(z, *args, **kwargs):
            if self.latents is None:
                self.latents = z
            return original(z, *args, **kwargs)

        self.vae.decode = decode
        return self

    def __exit__(self, *exc):
        del self.vae.decode
        return False

    def denoiser_latents(self):
        """Undoes the pipeline's `z / scaling_factor (+ shift_factor)` before the decode."""
        z = to_numpy(self.latents)
        config = self.vae.config
        scaling = float(getattr(config, "scaling_factor", 1.0) or 1.0)
        shift = getattr(config, "shift_factor", None)
        if shift:
            z = z - float(shift)
        return z * scaling


# ------------------------------------------------------------------------------------ adapters


def import_pipeline_class(module_name):
    module = importlib.import_module(module_name)
    return module, getattr(module, "HunyuanVideo_1_5_Pipeline")


def infer_state_class(module):
    if hasattr(module, "InferState"):
        return module.InferState
    try:
        return importlib.import_module("hyvideo.commons.infer_state").InferState
    except ImportError:
        return None


class Official:
    """The official pipeline loaded once: the base stage, or the SR stage through its SR pipeline."""

    def __init__(self, args, stage):
        self.args = args
        self.stage = stage
        if not os.path.isdir(args.model_path):
            raise BadParameters(
                "--model-path %s is not a directory; point it at the HunyuanVideo-1.5 checkpoint"
                " folder (transformer/, vae/, text_encoder/, ...)" % args.model_path)
        module, cls = import_pipeline_class(args.pipeline_module)
        self.version = cls.get_transformer_version(
            args.resolution, args.task, args.cfg_distilled, args.step_distilled, args.sparse_attn)
        try:
            import torch
        except ImportError:
            torch = None
        self.torch = torch
        dtype = None
        if torch is not None:
            dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
        group = args.group_offloading
        if group is None:
            group = bool(cls.get_offloading_config()["enable_group_offloading"]) if args.offloading else False
        self.offloading, self.group_offloading = args.offloading, group
        device = "cpu" if args.offloading else "cuda"
        init_device = "cpu" if group else device
        if torch is not None:
            device, init_device = torch.device(device), torch.device(init_device)
        log("loading %s from %s (dtype %s, offloading %s, group offloading %s)"
            % (self.version, args.model_path, args.dtype, args.offloading, group))
        self.pipe = cls.create_pipeline(
            pretrained_model_name_or_path=args.model_path,
            transformer_version=self.version,
            create_sr_pipeline=(stage == "upscale"),
            transformer_dtype=dtype,
            device=device,
            transformer_init_device=init_device,
        )
        state_cls = infer_state_class(module)
        state = None
        if state_cls is not None:
            state = state_cls(enable_sageattn=args.sageattn, enable_torch_compile=args.torch_compile)
        # The upscale stage runs only the SR pipeline (its own transformer and upsampler, sharing
        # the VAE and text encoders); the base transformer create_pipeline loaded is freed.
        target = self.pipe if stage == "base" else self.pipe.sr_pipeline
        target.apply_infer_optimization(
            infer_state=state,
            enable_offloading=args.offloading,
            enable_group_offloading=group,
            overlap_group_offloading=args.overlap_group_offloading,
        )
        if stage == "upscale":
            self.sr = target
            if not args.keep_base_transformer:
                self.pipe.transformer = None
                if torch is not None and torch.cuda.is_available():
                    torch.cuda.empty_cache()

    def ready(self):
        pipe = self.sr if self.stage == "upscale" else self.pipe
        config = getattr(pipe, "config", None)
        default_steps = getattr(config, "num_inference_steps", None) if config is not None else None
        memory = 0
        if self.torch is not None and self.torch.cuda.is_available():
            memory = int(self.torch.cuda.memory_allocated())
        model = "hunyuanvideo-1.5-" + self.version
        if self.stage == "upscale":
            model += "+sr"
        msg = {
            "model": model,
            "weights": os.path.abspath(self.args.model_path),
            "max_tasks": 1,
            "memory_bytes": memory,
            "facts": {
                "transformerVersion": self.version,
                "dtype": self.args.dtype,
                "offloading": str(self.offloading).lower(),
                "groupOffloading": str(self.group_offloading).lower(),
                "sparseAttention": str(self.args.sparse_attn).lower(),
                "server": "reelflow hunyuan_resident_server.py",
            },
        }
        if default_steps:
            msg["default_steps"] = int(default_steps)
        return msg

    def run(self, server, task):
        return self.base(server, task) if self.stage == "base" else self.upscale(server, task)

    def base(self, server, task):
        args = self.args
        tier = task.get("resolution")
        if tier not in (args.resolution, "preview"):
            raise BadParameters(
                "this server loaded the %s transformer (%s) and cannot render %s; send %s renders"
                " to a pool whose server runs --resolution %s" % (args.resolution, self.version, tier, tier, tier))
        image = task.get("image")
        if (image is None) != (args.task == "t2v"):
            raise BadParameters(
                "this server loaded a %s transformer but the task is %s; run a server with --task %s"
                % (args.task, "image-to-video" if image else "text-to-video", "i2v" if image else "t2v"))
        kwargs = {
            "prompt": task["prompt"],
            "negative_prompt": task.get("negative_prompt") or "",
            "aspect_ratio": "%d:%d" % (int(task["width"]), int(task["height"])),
            "video_length": int(task["frames"]),
            "num_inference_steps": task.get("steps"),
            "seed": int(task["seed"]),
            "enable_sr": False,
            "prompt_rewrite": args.rewrite,
            "output_type": "pt",
        }
        if task.get("guidance") is not None:
            kwargs["guidance_scale"] = float(task["guidance"])
        if image:
            kwargs["reference_image"] = local_image(image, task["workdir"])
        steps = Steps(server, task["id"], "denoise")
        with DecodeInput(self.pipe.vae) as decoded:
            out = observed_call(self.pipe, steps, task.get("steps"), kwargs)
        frames = frames_uint8(out.videos)
        result = {"video": write_video(frames, task, args.video_format),
                  "facts": {"renderedWidth": str(frames.shape[2]), "renderedHeight": str(frames.shape[1]),
                            "transformerVersion": self.version}}
        latents_path = (task.get("output") or {}).get("latents")
        if latents_path:
            if decoded.latents is None:
                raise RuntimeError("the pipeline decoded no latents; cannot write them for the SR stage")
            write_latents(latents_path, decoded.denoiser_latents(),
                          {"transformerVersion": self.version, "space": "hunyuanvideo-1.5"})
            result["latents"] = latents_path
        return result

    def upscale(self, server, task):
        source = (task.get("input") or {}).get("latents")
        if not source:
            raise BadParameters(
                "the official SR stage upscales the base stage's latents, and this render's base"
                " stage wrote none; run its base stage with an engine that writes latents")
        z = read_latents(source)
        lq = z[None]
        if self.torch is not None:
            lq = self.torch.from_numpy(lq).to(getattr(self.sr, "execution_device", "cpu"))
        kwargs = {
            "prompt": task.get("prompt") or "",
            "video_length": int(task["frames"]),
            "num_inference_steps": self.args.sr_steps,
            "negative_prompt": "",
            "num_videos_per_prompt": 1,
            "seed": int(task["seed"]),
            "output_type": "pt",
            "lq_latents": lq,
        }
        steps = Steps(server, task["id"], "upscale")
        out = observed_call(self.sr, steps, self.args.sr_steps, kwargs)
        frames = frames_uint8(out.videos)
        return {"video": write_video(frames, task, self.args.video_format),
                "facts": {"srWidth": str(frames.shape[2]), "srHeight": str(frames.shape[1]),
                          "srFrom": self.version}}


class FrameUpscaler:
    """Any frame upscaler as the upscale stage: FUNCTION(frames uint8 (F, H, W, 3), width, height,
    report) returns upscaled uint8 frames; `report(done, total)` after each batch reports progress
    and raises at the next batch after a cancel."""

    def __init__(self, args, stage):
        if stage != "upscale":
            raise BadParameters("--upscaler serves the upscale stage only")
        module_name, _, name = args.upscaler.partition(":")
        self.name = args.upscaler
        self.function = getattr(importlib.import_module(module_name), name)

    def ready(self):
        return {"model": "upscaler:" + self.name, "weights": self.name, "max_tasks": 1,
                "facts": {"upscaler": self.name, "server": "reelflow hunyuan_resident_server.py"}}

    def run(self, server, task):
        frames = read_video(task["input"]["video"])
        steps = Steps(server, task["id"], "upscale")
        out = self.function(frames, int(task["width"]), int(task["height"]),
                            lambda done, total: steps_to(steps, done, total))
        return {"video": write_video(out, task, server.args.video_format),
                "facts": {"upscaler": self.name}}


def steps_to(steps, done, total):
    while steps.done < done:
        steps.step(total)


def local_image(image, workdir):
    """A task's first-frame image as a local path: a path, file:// or http(s):// (fetched)."""
    if image.startswith("file://"):
        return image[len("file://"):]
    if image.startswith("http://") or image.startswith("https://"):
        target = os.path.join(workdir, "reference-image")
        with urllib.request.urlopen(image, timeout=60) as r, open(target, "wb") as f:
            f.write(r.read())
        return target
    return image


def write_video(frames, task, video_format):
    fps = int(task.get("fps") or 24)
    if video_format == "mp4":
        try:
            import imageio
        except ImportError as e:
            raise RuntimeError("--video-format mp4 needs imageio[ffmpeg]; or use y4m") from e
        path = os.path.join(task["workdir"], "output.mp4")
        imageio.mimwrite(path, frames, fps=fps)
        return path
    path = os.path.join(task["workdir"], "output.y4m")
    write_y4m(path, frames, fps)
    return path


# -------------------------------------------------------------------------------------- server


def error_of(exc):
    """The protocol's error code and retryability for an exception of the pipeline."""
    if isinstance(exc, BadParameters):
        return "BAD_PARAMETERS", False
    text = "%s: %s" % (type(exc).__name__, exc)
    if type(exc).__name__ == "OutOfMemoryError" or "out of memory" in text.lower():
        return "OUT_OF_MEMORY", False
    if isinstance(exc, (ValueError, AssertionError)):
        # The official pipeline validates its arguments with ValueError and assert.
        return "BAD_PARAMETERS", False
    return "ENGINE_ERROR", True


class Server:
    """Reads the worker's messages, runs one task at a time on a worker thread."""

    def __init__(self, args, channel, adapter_factory):
        self.args = args
        self.channel = channel
        self.adapter_factory = adapter_factory
        self.adapter = None
        self.lock = threading.Lock()
        self.cancelled = set()
        self.running = None
        self.exit = os._exit

    def progress(self, task_id, phase, done, total):
        self.channel.send({"type": "progress", "id": task_id, "phase": phase,
                           "step": int(done), "total": int(total)})

    def cancel_requested(self, task_id):
        with self.lock:
            return task_id in self.cancelled

    def load(self):
        started = time.time()
        self.channel.send({"type": "loading", "message": "loading the %s stage" % self.args.stage})
        try:
            self.adapter = self.adapter_factory(self.args, self.args.stage)
        except BaseException as e:  # report every load failure, then exit
            traceback.print_exc()
            code, _ = error_of(e)
            permanent = isinstance(e, (BadParameters, ImportError, FileNotFoundError))
            self.channel.send({"type": "error", "code": code,
                               "message": "%s: %s" % (type(e).__name__, e),
                               "retryable": not permanent})
            return False
        ready = {"type": "ready", "protocol": PROTOCOL, "stages": [self.args.stage]}
        ready.update(self.adapter.ready())
        log("ready after %.1f s" % (time.time() - started))
        self.channel.send(ready)
        return True

    def run_task(self, task):
        task_id = task["id"]
        try:
            result = self.adapter.run(self, task)
            message = {"type": "result", "id": task_id}
            message.update(result)
            self.channel.send(message)
        except TaskCancelled:
            self.channel.send({"type": "cancelled", "id": task_id})
        except BaseException as e:
            traceback.print_exc()
            code, retryable = error_of(e)
            self.channel.send({"type": "error", "id": task_id, "code": code,
                               "message": "%s: %s" % (type(e).__name__, e), "retryable": retryable})
        finally:
            torch = sys.modules.get("torch")
            if torch is not None and torch.cuda.is_available():
                torch.cuda.empty_cache()
            with self.lock:
                self.cancelled.discard(task_id)
                self.running = None

    def handle(self, message):
        kind = message.get("type")
        if kind == "task":
            with self.lock:
                busy = self.running is not None
                if not busy:
                    self.running = message["id"]
            if busy:
                self.channel.send({"type": "error", "id": message["id"], "code": "ENGINE_ERROR",
                                   "message": "busy with another task (max_tasks 1)", "retryable": True})
                return None
            thread = threading.Thread(target=self.run_task, args=(message,), name="task", daemon=True)
            thread.start()
            return thread
        if kind == "cancel":
            with self.lock:
                if self.running == message.get("id"):
                    self.cancelled.add(message["id"])
            return None
        if kind == "shutdown":
            log("shutdown")
            self.exit(0)
            return None
        log("ignoring a message of unknown type %r" % kind)
        return None

    def serve(self, lines):
        for line in lines:
            line = line.strip()
            if not line:
                continue
            try:
                message = json.loads(line)
            except ValueError:
                log("ignoring a line that is not JSON: %r" % line[:200])
                continue
            self.handle(message)
        self.exit(0)  # stdin closed: the worker is gone


def str_to_bool(value):
    v = str(value).strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError("expected true or false, got %r" % value)


def parser():
    p = argparse.ArgumentParser(
        description="ReelFlow resident server for the official HunyuanVideo-1.5 pipeline "
                    "(protocol: gpu-operator/docs/resident-protocol.md)")
    p.add_argument("--stage", choices=["base", "upscale"],
                   default=os.environ.get("REELFLOW_RESIDENT_STAGE", "base"),
                   help="stage to serve (default: $REELFLOW_RESIDENT_STAGE, set by the worker)")
    p.add_argument("--model-path", help="the HunyuanVideo-1.5 checkpoint folder")
    p.add_argument("--resolution", choices=["480p", "720p"], default="480p",
                   help="transformer resolution to load (base stage; the SR variant follows from it)")
    p.add_argument("--task", choices=["t2v", "i2v"], default="t2v", help="text- or image-to-video")
    p.add_argument("--cfg-distilled", type=str_to_bool, default=False, help="the CFG-distilled variant")
    p.add_argument("--step-distilled", type=str_to_bool, default=False, help="the step-distilled variant")
    p.add_argument("--sparse-attn", type=str_to_bool, default=False,
                   help="the distilled variant with sparse attention (SSTA)")
    p.add_argument("--dtype", choices=["bf16", "fp32"], default="bf16", help="transformer dtype")
    p.add_argument("--offloading", type=str_to_bool, default=True,
                   help="keep models in host memory and move them to the GPU when used (default true)")
    p.add_argument("--group-offloading", type=str_to_bool, default=None,
                   help="offload transformer blocks in groups (default: as the official code decides"
                        " from the GPU memory)")
    p.add_argument("--overlap-group-offloading", type=str_to_bool, default=True)
    p.add_argument("--sageattn", type=str_to_bool, default=False, help="SageAttention kernels")
    p.add_argument("--torch-compile", type=str_to_bool, default=False, help="torch.compile the blocks")
    p.add_argument("--rewrite", type=str_to_bool, default=False,
                   help="the official prompt rewrite (needs its rewrite service; default false)")
    p.add_argument("--sr-steps", type=int, default=None, help="SR steps (default: the SR variant's)")
    p.add_argument("--keep-base-transformer", type=str_to_bool, default=False,
                   help="upscale stage: keep the base transformer loaded (default: freed)")
    p.add_argument("--upscaler", metavar="MODULE:FUNCTION",
                   help="upscale stage: any frame upscaler instead of the official SR pipeline")
    p.add_argument("--video-format", choices=["y4m", "mp4"], default="y4m",
                   help="video written per task: y4m (uncompressed, no dependency; default) or mp4"
                        " (imageio)")
    p.add_argument("--pipeline-module", default="hyvideo.pipelines.hunyuan_video_pipeline",
                   help="module that defines HunyuanVideo_1_5_Pipeline (a fork of the official"
                        " package, or a stand-in in tests)")
    return p


def main(argv=None):
    os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")
    args = parser().parse_args(argv)
    channel = Channel(protocol_stdout())
    if args.upscaler:
        factory = FrameUpscaler
    else:
        if not args.model_path:
            channel.send({"type": "error", "code": "BAD_PARAMETERS", "retryable": False,
                          "message": "--model-path is required for the official pipeline"})
            return 2
        factory = Official
    server = Server(args, channel, factory)
    if not server.load():
        return 3
    server.serve(sys.stdin)
    return 0


if __name__ == "__main__":
    sys.exit(main())
