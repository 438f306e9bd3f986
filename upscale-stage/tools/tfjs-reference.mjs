// Generates the TF.js reference fixtures the Java port is checked against (ARCHITECTURE.md, decision 17).
// Usage (from upscale-stage/tools, after `npm install`):
//   node tfjs-reference.mjs <esrgan-slim package dir> <esrgan-thick package dir | -> <out dir>
// Writes <case>.input.f32 / <case>.output.f32 (little-endian float32, HWC, [0,255]) and cases.json.
import fs from 'node:fs';
import path from 'node:path';
import { tf, useWasm, loadModel, upscale } from './tfjs-common.mjs';

const [slimDir, thickDir, outDir] = process.argv.slice(2);
if (!slimDir || !thickDir || !outDir) {
  console.error('usage: node tfjs-reference.mjs <slim pkg dir> <thick pkg dir|-> <out dir>');
  process.exit(2);
}

// Deterministic test pattern with edges, gradients, texture and noise, integer-valued like a photo.
function pattern(h, w, seed) {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const out = new Float32Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let v = 128 + 90 * Math.sin((x * (0.3 + 0.1 * c) + y * 0.21) + seed);
        if ((x - w / 2) * (x - w / 2) + (y - h / 2) * (y - h / 2) < (h * h) / 9) v = 220 - 40 * c;
        if (x > (2 * w) / 3 && y < h / 2) v = 30 + 8 * ((x + y) % 5) * (c + 1);
        v += 24 * (rnd() - 0.5);
        out[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return out;
}

const cases = [
  { name: 'slim-x2', pkg: 'slim', scale: 2, h: 20, w: 24, range: 255 },
  { name: 'slim-x3', pkg: 'slim', scale: 3, h: 20, w: 24, range: 255 },
  { name: 'slim-x4', pkg: 'slim', scale: 4, h: 20, w: 24, range: 255 },
  { name: 'slim-x8', pkg: 'slim', scale: 8, h: 10, w: 12, range: 255 },
  { name: 'thick-x2', pkg: 'thick', scale: 2, h: 20, w: 24, range: 1 },
];

const backend = await useWasm(1);
fs.mkdirSync(outDir, { recursive: true });
const written = [];
for (const c of cases) {
  const pkgDir = c.pkg === 'slim' ? slimDir : thickDir;
  if (pkgDir === '-') continue;
  const model = await loadModel(path.join(pkgDir, 'models', `x${c.scale}`));
  const input = pattern(c.h, c.w, c.scale * 7 + c.pkg.length);
  const output = upscale(model, input, c.h, c.w, c.range);
  if (output.length !== c.h * c.scale * c.w * c.scale * 3) throw new Error(`${c.name}: bad output size`);
  fs.writeFileSync(path.join(outDir, `${c.name}.input.f32`), Buffer.from(input.buffer));
  fs.writeFileSync(path.join(outDir, `${c.name}.output.f32`), Buffer.from(new Float32Array(output).buffer));
  written.push({ ...c, model: `@upscalerjs/esrgan-${c.pkg}@1.0.0 models/x${c.scale}` });
  model.dispose();
  console.log(`${c.name}: ${c.w}x${c.h} -> ${c.w * c.scale}x${c.h * c.scale}`);
}
fs.writeFileSync(path.join(outDir, 'cases.json'), JSON.stringify({
  generator: `@tensorflow/tfjs ${tf.version.tfjs}, backend ${backend}, 1 thread, Node ${process.version}`,
  cases: written,
}, null, 2) + '\n');
