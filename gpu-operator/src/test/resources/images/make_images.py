#!/usr/bin/env python3
"""Writes the worker's reference-image fixtures with Debian's python3-pil (Pillow, libwebp):
a 40x30 RGB pattern (r = 6x, g = 8y, b = (x * y) % 256) as lossless WebP, lossy WebP and PNG, and
a two-frame animated WebP. Usage: /usr/bin/python3 make_images.py (in this folder)."""
from PIL import Image

W, H = 40, 30
im = Image.new("RGB", (W, H))
im.putdata([(6 * x, 8 * y, (x * y) % 256) for y in range(H) for x in range(W)])
im.save("pattern.png")
im.save("pattern-lossless.webp", lossless=True)
im.save("pattern-lossy.webp", quality=90)
im.save("animated.webp", save_all=True, append_images=[im.rotate(180)], duration=100, loop=0)
