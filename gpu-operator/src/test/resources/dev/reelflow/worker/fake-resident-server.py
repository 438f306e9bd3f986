#!/usr/bin/env python3
"""A FAKE resident model server for the worker's tests (Python 3 standard library only).

It speaks the resident protocol (gpu-operator/docs/resident-protocol.md) but renders no model:
its videos are test patterns (YUV4MPEG2 files) and its latents a formula of the seed, and its ready
message says "emulated": true, so every manifest of a render it made says so.

Behaviour chosen by arguments:
  --load-seconds S     sleep S seconds before "ready" (the model load; default 0.2)
  --load-log FILE      append one line per start to FILE ("load <pid>"), so tests count loads
  --step-seconds S     time per denoising step (default 0.02)
  --max-tasks N        tasks run at once (default 1)
  --crash-at-start     exit with code 3 before "ready", every time
  --fail-starts N      exit with code 3 before "ready" on the first N starts (counted in --load-log)
  --load-error CODE    send an error without id instead of "ready" (BAD_PARAMETERS: permanent)
  --stdout-noise       print a line that is not a protocol message before "ready"
  --stage NAME         the stage it says it serves (default: $REELFLOW_RESIDENT_STAGE, else base)
  --one-shot           no protocol: load, render one base task from --width --height --frames
                       --steps --seed --output [--latents] with "k/n" progress on stderr, exit
                       (a per-task program for the command engine, to compare with resident mode)
and by keywords in a task's prompt:
  [bad]    error BAD_PARAMETERS (permanent)
  [oom]    error OUT_OF_MEMORY (permanent by default)
  [flaky]  error ENGINE_ERROR with "retryable": true
  [crash]  dies (exit code 7) after two steps
  [hang]   steps every 0.2 s and ignores cancel (as a stuck GPU kernel would)
  [slow]   steps every 0.2 s
"""
import argparse
import json
import os
import struct
import sys
import threading
import time
from array import array

OUT = sys.stdout
OUT_LOCK = threading.Lock()


def send(message):
    line = json.dumps(message, separators=(",", ":"))
    with OUT_LOCK:
        OUT.write(line + "\n")
        OUT.flush()


def log(text):
    sys.stderr.write("[fake-resident %d] %s\n" % (os.getpid(), text))
    sys.stderr.flush()


def write_y4m(path, width, height, frames, seed):
    """A moving gradient as 4:2:0 YUV4MPEG2 (FFmpeg reads it without a codec)."""
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    with open(path, "wb") as f:
        f.write(b"YUV4MPEG2 W%d H%d F24:1 Ip A1:1 C420jpeg\n" % (width, height))
        for k in range(frames):
            row = bytes(((x * 255) // max(1, width - 1) + 8 * k + seed) % 256 for x in range(width))
            f.write(b"FRAME\n")
            f.write(b"".join(row[y % width:] + row[:y % width] for y in range(height)))
            f.write(chroma)
            f.write(chroma)


def write_latents(path, shape, seed):
    count = 1
    for d in shape:
        count *= d
    data = array("f", (((i * 7 + seed) % 101) / 100.0 - 0.5 for i in range(count)))
    if sys.byteorder != "little":
        data.byteswap()
    header = json.dumps({
        "__metadata__": {"producer": "fake-resident-server"},
        "latents": {"dtype": "F32", "shape": list(shape), "data_offsets": [0, count * 4]},
    }).encode()
    header += b" " * ((8 - len(header) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)))
        f.write(header)
        f.write(data.tobytes())


def latents_shape(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n))["latents"]["shape"]


class Server:
    def __init__(self, args):
        self.args = args
        self.cancelled = set()
        self.lock = threading.Lock()
        self.slots = threading.Semaphore(args.max_tasks)

    def run_task(self, task):
        try:
            self.render(task)
        except Exception as e:  # a bug in the fake: report it as a retryable engine error
            send({"type": "error", "id": task["id"], "code": "ENGINE_ERROR",
                  "message": "fake server failed: %r" % (e,), "retryable": True})
        finally:
            self.slots.release()

    def render(self, task):
        tid = task["id"]
        prompt = task.get("prompt") or ""
        send({"type": "log", "id": tid, "level": "info", "message": "rendering %r" % prompt[:60]})
        if "[bad]" in prompt:
            send({"type": "error", "id": tid, "code": "BAD_PARAMETERS",
                  "message": "the fake model refuses prompts marked [bad]"})
            return
        if "[oom]" in prompt:
            send({"type": "error", "id": tid, "code": "OUT_OF_MEMORY",
                  "message": "CUDA out of memory (simulated)"})
            return
        if "[flaky]" in prompt:
            send({"type": "error", "id": tid, "code": "ENGINE_ERROR",
                  "message": "a transient failure (simulated)", "retryable": True})
            return
        stage = task.get("stage", "base")
        total = int(task.get("steps") or 4) if stage == "base" else 2
        phase = "denoise" if stage == "base" else "upscale"
        step_seconds = 0.2 if ("[hang]" in prompt or "[slow]" in prompt) else self.args.step_seconds
        for k in range(1, total + 1):
            time.sleep(step_seconds)
            if "[crash]" in prompt and k == 3:
                log("Segmentation fault (simulated crash in step %d)" % k)
                os._exit(7)
            with self.lock:
                stop = tid in self.cancelled
            if stop:
                if "[hang]" in prompt:
                    log("cancel received but the kernel does not return (simulated hang)")
                    while True:
                        time.sleep(1)
                send({"type": "cancelled", "id": tid})
                return
            send({"type": "progress", "id": tid, "phase": phase, "step": k, "total": total})
        workdir = task["workdir"]
        seed = int(task.get("seed") or 0) % 256
        video = os.path.join(workdir, "fake-output.y4m")
        write_y4m(video, int(task["width"]), int(task["height"]), int(task["frames"]), seed)
        result = {"type": "result", "id": tid, "video": video,
                  "facts": {"fakeServerPid": str(os.getpid()), "fakeSteps": str(total)}}
        latents = (task.get("output") or {}).get("latents")
        if stage == "base" and latents:
            shape = [32, (int(task["frames"]) - 1) // 4 + 1,
                     int(task["height"]) // 16, int(task["width"]) // 16]
            write_latents(latents, shape, seed)
            result["latents"] = latents
        if stage == "upscale":
            src = task["input"]["video"]
            if not os.path.isfile(src):
                send({"type": "error", "id": tid, "code": "ENGINE_ERROR",
                      "message": "input video %s is missing" % src})
                return
            if task["input"].get("latents"):
                result["facts"]["fakeInputLatents"] = "x".join(
                    str(d) for d in latents_shape(task["input"]["latents"]))
        send(result)

    def serve(self):
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            msg = json.loads(line)
            kind = msg.get("type")
            if kind == "task":
                self.slots.acquire()
                threading.Thread(target=self.run_task, args=(msg,), daemon=True).start()
            elif kind == "cancel":
                with self.lock:
                    self.cancelled.add(msg["id"])
            elif kind == "shutdown":
                log("shutdown")
                os._exit(0)
        os._exit(0)  # stdin closed: the worker is gone


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--load-seconds", type=float, default=0.2)
    p.add_argument("--load-log")
    p.add_argument("--step-seconds", type=float, default=0.02)
    p.add_argument("--max-tasks", type=int, default=1)
    p.add_argument("--crash-at-start", action="store_true")
    p.add_argument("--fail-starts", type=int, default=0)
    p.add_argument("--load-error")
    p.add_argument("--stdout-noise", action="store_true")
    p.add_argument("--stage")
    p.add_argument("--one-shot", action="store_true")
    for name in ("--width", "--height", "--frames", "--steps", "--seed"):
        p.add_argument(name, type=int, default=0)
    p.add_argument("--output")
    p.add_argument("--latents")
    args = p.parse_args()
    stage = args.stage or os.environ.get("REELFLOW_RESIDENT_STAGE", "base")
    starts = 0
    if args.load_log:
        if os.path.exists(args.load_log):
            with open(args.load_log) as f:
                starts = sum(1 for _ in f)
        with open(args.load_log, "a") as f:
            f.write("load %d\n" % os.getpid())
    log("loading the fake model (%.2f s)" % args.load_seconds)
    if args.stdout_noise:
        print("this line is not a protocol message", flush=True)
    send({"type": "loading", "message": "reading the fake weights", "done": 0, "total": 1})
    time.sleep(args.load_seconds)
    if args.crash_at_start or starts < args.fail_starts:
        log("RuntimeError: cannot load the fake weights (simulated start crash)")
        sys.exit(3)
    if args.one_shot:
        for k in range(1, args.steps + 1):
            time.sleep(args.step_seconds)
            log("%d/%d" % (k, args.steps))
        write_y4m(args.output, args.width, args.height, args.frames, args.seed % 256)
        if args.latents:
            write_latents(args.latents, [32, (args.frames - 1) // 4 + 1, args.height // 16,
                                         args.width // 16], args.seed % 256)
        return
    if args.load_error:
        send({"type": "error", "code": args.load_error, "message": "the fake checkpoint is unusable",
              "retryable": args.load_error != "BAD_PARAMETERS"})
        time.sleep(30)
        return
    send({"type": "ready", "protocol": 1, "stages": [stage], "model": "fake-resident",
          "weights": "none (test pattern)", "emulated": True, "max_tasks": args.max_tasks,
          "memory_bytes": 1 << 20, "facts": {"fakeServer": "true"}})
    Server(args).serve()


if __name__ == "__main__":
    main()
