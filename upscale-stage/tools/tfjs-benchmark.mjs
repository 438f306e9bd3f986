// The TF.js speed anchor (ARCHITECTURE.md, decision 17): the same esrgan-slim weights this module bundles, run by
// @tensorflow/tfjs on the wasm backend with one thread, on one whole frame.
// Usage (from upscale-stage/tools, after `npm install`):
//   node tfjs-benchmark.mjs <model dir> <frame.f32 (HWC float32 LE, [0,255])> <height> <width> [reps]
// Prints one line: "tfjs-wasm <backend> threads=1 frame=WxH reps=N secondsPerFrame=S cpuSecondsPerFrame=C"
// (CPU seconds of the Node process: robust to other load on a shared machine).
import fs from 'node:fs';
import { useWasm, loadModel, upscale } from './tfjs-common.mjs';

const [modelDir, frameFile, h, w, repsArg] = process.argv.slice(2);
if (!modelDir || !frameFile || !h || !w) {
  console.error('usage: node tfjs-benchmark.mjs <model dir> <frame.f32> <height> <width> [reps]');
  process.exit(2);
}
const height = Number(h);
const width = Number(w);
const reps = Number(repsArg || 2);
const backend = await useWasm(1);
const model = await loadModel(modelDir);
const buf = fs.readFileSync(frameFile);
const pixels = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
upscale(model, pixels, height, width, 255); // warm-up (compiles kernels, allocates)
const c0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
for (let i = 0; i < reps; i++) upscale(model, pixels, height, width, 255);
const s = Number(process.hrtime.bigint() - t0) / 1e9 / reps;
const c = process.cpuUsage(c0);
const cpu = (c.user + c.system) / 1e6 / reps;
console.log(`tfjs-wasm ${backend} threads=1 frame=${width}x${height} reps=${reps} secondsPerFrame=${s.toFixed(3)} cpuSecondsPerFrame=${cpu.toFixed(3)}`);
