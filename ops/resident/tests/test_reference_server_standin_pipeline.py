"""The reference resident server's protocol handling, with the official HunyuanVideo-1.5 pipeline
REPLACED BY A STAND-IN (tests/standin_hyvideo.py): the official package is not installed where
these tests run. What is tested is ReelFlow's server code: loading through the official entry
points, the ready message, per-step progress (progress-bar and callback paths), cancel at the next
step, error codes, the video and latents it writes, the SR stage fed with latents, any frame
upscaler, and that stdout carries protocol lines only.

Run: python3 -m unittest discover -s ops/resident/tests -v   (needs numpy)
"""
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import types
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import hunyuan_resident_server as srv  # noqa: E402
import standin_hyvideo  # noqa: E402


class Capture:
    """The protocol channel of a server under test: messages into a queue."""

    def __init__(self):
        self.messages = queue.Queue()

    def send(self, message):
        json.dumps(message)  # must be serialisable
        self.messages.put(message)

    def until_final(self, task_id, timeout=20):
        seen = []
        end = time.time() + timeout
        while time.time() < end:
            try:
                m = self.messages.get(timeout=0.1)
            except queue.Empty:
                continue
            seen.append(m)
            if m.get("id") == task_id and m["type"] in ("result", "error", "cancelled"):
                return seen
        raise AssertionError("no final message for %s within %s s; saw %s" % (task_id, timeout, seen))


def args(*extra):
    return srv.parser().parse_args(
        ["--model-path", tempfile.gettempdir(), "--pipeline-module", "standin_hyvideo"] + list(extra))


class ReferenceServerWithStandInPipelineTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="resident-standin-")
        standin_hyvideo.CREATED.clear()

    def server(self, *extra):
        a = args(*extra)
        capture = Capture()
        s = srv.Server(a, capture, srv.Official)
        s.exit = lambda code: None
        self.assertTrue(s.load())
        ready = capture.messages.get_nowait()
        self.assertEqual(ready["type"], "loading")
        return s, capture, capture.messages.get_nowait()

    def task(self, task_id, prompt="a red fox", steps=3, latents=True, **more):
        workdir = os.path.join(self.dir, task_id)
        os.makedirs(workdir)
        t = {"type": "task", "id": task_id, "stage": "base", "request_id": "r", "workdir": workdir,
             "prompt": prompt, "negative_prompt": "", "image": None, "resolution": "480p",
             "width": 64, "height": 48, "frames": 9, "fps": 24, "steps": steps, "guidance": None,
             "seed": 42, "output": {"video": os.path.join(workdir, "output.mp4"),
                                    "latents": os.path.join(workdir, "latents.safetensors") if latents else None}}
        t.update(more)
        return t

    def test_loads_the_chosen_variant_once_through_the_official_entry_points(self):
        _, _, ready = self.server("--cfg-distilled", "true", "--offloading", "true")
        self.assertEqual(ready["type"], "ready")
        self.assertEqual(ready["protocol"], 1)
        self.assertEqual(ready["stages"], ["base"])
        self.assertEqual(ready["model"], "hunyuanvideo-1.5-480p_t2v_distilled")
        self.assertEqual(ready["default_steps"], 50)
        self.assertEqual(ready["facts"]["dtype"], "bf16")
        self.assertEqual(len(standin_hyvideo.CREATED), 1)
        pipe = standin_hyvideo.CREATED[0]
        self.assertEqual(pipe.created_with["transformer_version"], "480p_t2v_distilled")
        self.assertFalse(pipe.created_with["create_sr_pipeline"])
        self.assertTrue(pipe.optimization["enable_offloading"])

    def test_a_base_task_reports_every_step_and_writes_the_video_and_latents(self):
        s, capture, _ = self.server()
        s.handle(self.task("t1", steps=4)).join(20)
        seen = capture.until_final("t1")
        progress = [(m["phase"], m["step"], m["total"]) for m in seen if m["type"] == "progress"]
        self.assertEqual(progress, [("denoise", k, 4) for k in range(1, 5)])
        result = seen[-1]
        self.assertEqual(result["type"], "result", seen)
        pipe = standin_hyvideo.CREATED[0]
        self.assertEqual(pipe.unobserved_updates, 0, "every step went through the server's bar")
        call = pipe.calls[0]
        self.assertEqual(call["aspect_ratio"], "64:48")
        self.assertEqual((call["video_length"], call["steps"], call["seed"]), (9, 4, 42))
        self.assertFalse(call["enable_sr"])
        self.assertFalse(call["prompt_rewrite"])
        frames = srv.read_y4m(result["video"])
        self.assertEqual(frames.shape, (9, 48, 64, 3))
        expected = srv.frames_uint8(
            (pipe.vae.decode(np.zeros((1, 4, 3, 3, 4), np.float32))[0] / 2 + 0.5).clip(0, 1))
        # 4:2:0 round trip: luma exact-ish, chroma subsampled
        self.assertLess(np.abs(frames.astype(int) - expected.astype(int)).mean(), 4.0)
        latents = srv.read_latents(result["latents"])
        np.testing.assert_allclose(latents, pipe.final_latents[0], rtol=1e-6, atol=1e-6)
        self.assertEqual(result["facts"]["transformerVersion"], "480p_t2v")
        self.assertTrue(os.path.dirname(result["video"]).startswith(os.path.join(self.dir, "t1")))

    def test_no_latents_are_written_when_no_sr_stage_follows(self):
        s, capture, _ = self.server()
        s.handle(self.task("t2", latents=False)).join(20)
        result = capture.until_final("t2")[-1]
        self.assertNotIn("latents", result)

    def test_cancel_stops_the_task_at_the_next_step(self):
        s, capture, _ = self.server()
        thread = s.handle(self.task("t3", prompt="slow [slow]", steps=40))
        first = capture.messages.get(timeout=10)
        while first["type"] != "progress":
            first = capture.messages.get(timeout=10)
        s.handle({"type": "cancel", "id": "t3", "reason": "CANCELLED: test"})
        thread.join(10)
        seen = capture.until_final("t3")
        self.assertEqual(seen[-1]["type"], "cancelled")
        steps = [m for m in seen if m["type"] == "progress"]
        self.assertLess(len(steps), 5, "stopped long before step 40")
        # the server takes the next task
        s.handle(self.task("t4", steps=2)).join(20)
        self.assertEqual(capture.until_final("t4")[-1]["type"], "result")

    def test_failures_carry_the_protocols_codes(self):
        s, capture, _ = self.server()
        cases = [
            ("oom [oom]", {}, "OUT_OF_MEMORY", False, "CUDA out of memory"),
            ("bad [valueerror]", {}, "BAD_PARAMETERS", False, "aspect_ratio"),
            ("bug [bug]", {}, "ENGINE_ERROR", True, "double_blocks.3"),
            ("a 720p render", {"resolution": "720p"}, "BAD_PARAMETERS", False, "--resolution 720p"),
            ("an i2v render", {"image": "/tmp/first-frame.png"}, "BAD_PARAMETERS", False,
             "--task i2v"),
        ]
        for i, (prompt, more, code, retryable, says) in enumerate(cases):
            tid = "e%d" % i
            s.handle(self.task(tid, prompt=prompt, **more)).join(20)
            final = capture.until_final(tid)[-1]
            self.assertEqual((final["type"], final["code"], final["retryable"]),
                             ("error", code, retryable), final)
            self.assertIn(says, final["message"])
        # still serving after five failures
        s.handle(self.task("e-ok")).join(20)
        self.assertEqual(capture.until_final("e-ok")[-1]["type"], "result")

    def test_the_step_callback_is_used_where_the_pipeline_offers_one(self):
        module = types.ModuleType("standin_callback")
        module.HunyuanVideo_1_5_Pipeline = standin_hyvideo.CallbackPipeline
        module.InferState = standin_hyvideo.InferState
        sys.modules["standin_callback"] = module
        a = srv.parser().parse_args(
            ["--model-path", self.dir, "--pipeline-module", "standin_callback"])
        capture = Capture()
        s = srv.Server(a, capture, srv.Official)
        self.assertTrue(s.load())
        s.handle(self.task("c1", steps=3)).join(20)
        seen = capture.until_final("c1")
        self.assertEqual([m["step"] for m in seen if m["type"] == "progress"], [1, 2, 3])
        self.assertEqual(seen[-1]["type"], "result")
        self.assertNotIn("progress_bar", standin_hyvideo.CREATED[0].__dict__)

    def test_the_upscale_stage_feeds_the_base_latents_to_the_sr_pipeline(self):
        s, capture, ready = self.server("--stage", "upscale", "--resolution", "720p")
        self.assertEqual(ready["stages"], ["upscale"])
        pipe = standin_hyvideo.CREATED[0]
        self.assertTrue(pipe.created_with["create_sr_pipeline"])
        self.assertIsNone(pipe.transformer, "the unused base transformer is freed")
        self.assertFalse(hasattr(pipe, "optimization"), "only the SR pipeline is set up")
        self.assertTrue(pipe.sr_pipeline.optimization["enable_offloading"])
        self.assertEqual(ready["default_steps"], 6)
        workdir = os.path.join(self.dir, "u1")
        os.makedirs(workdir)
        z = np.arange(4 * 3 * 3 * 4, dtype=np.float32).reshape(4, 3, 3, 4) / 10
        srv.write_latents(os.path.join(workdir, "base-latents.safetensors"), z)
        task = {"type": "task", "id": "u1", "stage": "upscale", "request_id": "r",
                "workdir": workdir, "prompt": "p", "seed": 5, "width": 128, "height": 96,
                "frames": 9, "fps": 24,
                "input": {"video": os.path.join(workdir, "base-preview.mp4"),
                          "latents": os.path.join(workdir, "base-latents.safetensors"),
                          "width": 64, "height": 48},
                "base_facts": {}, "output": {"video": os.path.join(workdir, "upscaled.mp4")}}
        s.handle(task).join(20)
        seen = capture.until_final("u1")
        self.assertEqual(seen[-1]["type"], "result", seen)
        self.assertEqual([m["phase"] for m in seen if m["type"] == "progress"], ["upscale"] * 6)
        call = pipe.sr_pipeline.calls[0]
        np.testing.assert_array_equal(call["lq_latents"], z[None])
        self.assertEqual((call["video_length"], call["seed"]), (9, 5))
        self.assertEqual(srv.read_y4m(seen[-1]["video"]).shape, (9, 96, 128, 3))
        # without the base latents the official SR stage cannot run: permanent
        task2 = dict(task, id="u2", input=dict(task["input"], latents=None))
        s.handle(task2).join(20)
        final = capture.until_final("u2")[-1]
        self.assertEqual((final["code"], final["retryable"]), ("BAD_PARAMETERS", False))

    def test_any_frame_upscaler_serves_the_upscale_stage(self):
        a = srv.parser().parse_args(
            ["--stage", "upscale", "--upscaler", "standin_hyvideo:double_size"])
        capture = Capture()
        s = srv.Server(a, capture, srv.FrameUpscaler)
        self.assertTrue(s.load())
        workdir = os.path.join(self.dir, "f1")
        os.makedirs(workdir)
        frames = np.zeros((5, 16, 24, 3), np.uint8)
        frames[..., 0] = 200
        srv.write_y4m(os.path.join(workdir, "in.y4m"), frames, 24)
        task = {"type": "task", "id": "f1", "stage": "upscale", "workdir": workdir, "prompt": "",
                "seed": 1, "width": 48, "height": 32, "frames": 5, "fps": 24,
                "input": {"video": os.path.join(workdir, "in.y4m"), "latents": None},
                "output": {"video": ""}}
        s.handle(task).join(20)
        seen = capture.until_final("f1")
        self.assertEqual([m["step"] for m in seen if m["type"] == "progress"], [1, 2, 3, 4, 5])
        out = srv.read_y4m(seen[-1]["video"])
        self.assertEqual(out.shape, (5, 32, 48, 3))
        self.assertLess(abs(int(out[..., 0].mean()) - 200), 4)

    def test_a_load_failure_is_an_error_without_id(self):
        a = srv.parser().parse_args(
            ["--model-path", os.path.join(self.dir, "missing"), "--pipeline-module", "standin_hyvideo"])
        capture = Capture()
        self.assertFalse(srv.Server(a, capture, srv.Official).load())
        capture.messages.get_nowait()  # loading
        error = capture.messages.get_nowait()
        self.assertEqual(error["type"], "error")
        self.assertNotIn("id", error)
        self.assertFalse(error["retryable"])
        self.assertIn("is not a directory", error["message"])

    def test_as_a_process_its_stdout_carries_protocol_lines_only(self):
        env = dict(os.environ, PYTHONPATH=HERE)
        proc = subprocess.Popen(
            [sys.executable, os.path.join(os.path.dirname(HERE), "hunyuan_resident_server.py"),
             "--model-path", self.dir, "--pipeline-module", "standin_hyvideo"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            text=True)
        stderr = []
        threading.Thread(target=lambda: stderr.extend(proc.stderr), daemon=True).start()
        task = self.task("p1", steps=2)
        lines = []
        try:
            while True:
                line = proc.stdout.readline()
                self.assertTrue(line, "server exited early: %s" % "".join(stderr))
                lines.append(line)
                if json.loads(line)["type"] == "ready":
                    break
            proc.stdin.write(json.dumps(task) + "\n")
            proc.stdin.flush()
            while True:
                line = proc.stdout.readline()
                self.assertTrue(line, "".join(stderr))
                lines.append(line)
                if json.loads(line).get("id") == "p1" and json.loads(line)["type"] != "progress":
                    break
            proc.stdin.write(json.dumps({"type": "shutdown"}) + "\n")
            proc.stdin.flush()
            self.assertEqual(proc.wait(10), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
        messages = [json.loads(x) for x in lines]  # every stdout line is a protocol message
        self.assertEqual([m["type"] for m in messages][-1], "result")
        time.sleep(0.1)
        self.assertIn("stand-in banner on stdout", "".join(stderr),
                      "the pipeline's prints went to stderr")


if __name__ == "__main__":
    unittest.main()
