// Shared by the TF.js reference and benchmark scripts: load a TF.js layers model folder from
// disk with the wasm backend, registering the custom layers esrgan-thick needs (as UpscalerJS does).
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import fs from 'node:fs';
import path from 'node:path';

export { tf };

export async function useWasm(threads = 1) {
  setThreadsCount(threads);
  await tf.setBackend('wasm');
  await tf.ready();
  return tf.getBackend();
}

let registered = false;
function registerCustomLayers() {
  if (registered) return;
  registered = true;
  class MultiplyBeta extends tf.layers.Layer {
    constructor() { super({}); this.beta = 0.2; }
    call(inputs) { return tf.mul(Array.isArray(inputs) ? inputs[0] : inputs, this.beta); }
    static get className() { return 'MultiplyBeta'; }
  }
  tf.serialization.registerClass(MultiplyBeta);
  for (const scale of [2, 3, 4, 8]) {
    class PixelShuffle extends tf.layers.Layer {
      constructor() { super({}); this.scale = scale; }
      computeOutputShape(s) { return [s[0], s[1], s[2], 3]; }
      call(inputs) { return tf.depthToSpace(Array.isArray(inputs) ? inputs[0] : inputs, this.scale, 'NHWC'); }
      static get className() { return `PixelShuffle${scale}x`; }
    }
    tf.serialization.registerClass(PixelShuffle);
  }
}

export async function loadModel(dir) {
  registerCustomLayers();
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const specs = [];
  const buffers = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) buffers.push(fs.readFileSync(path.join(dir, p)));
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: json.modelTopology, weightSpecs: specs, weightData,
    format: json.format, generatedBy: json.generatedBy, convertedBy: json.convertedBy,
  }));
}

// Runs the model on an HWC image in [0,255]; returns the HWC output clamped to [0,255].
export function upscale(model, pixels, h, w, range) {
  return tf.tidy(() => {
    const x = tf.tensor4d(pixels, [1, h, w, 3]).mul(range / 255);
    const y = model.predict(x).mul(255 / range).clipByValue(0, 255);
    return y.dataSync();
  });
}
