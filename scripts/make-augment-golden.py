#!/usr/bin/env python3
"""Builds tests/golden/augment/: what torchvision + PIL make of crops of one image.

data.augment's random_resized_crop cuts a box out of the preprocessed image and resizes
it back (data/image_augment.h); this records torchvision's F.resized_crop (PIL, bicubic)
for fixed boxes, so the C++ test compares the resampling, not the random draws (the
draws come from another generator by design). With the Python of the torch
installation spn links and the benchmark's pinned packages (`make bench` installs them
into build/bench-pylib):

    PYTHONPATH=build/bench-pylib ~/.cache/spn/torch-2.11.0/bin/python \\
        scripts/make-augment-golden.py tests/golden/augment

Writes image.png (48 x 48 RGB: gradients, a disc and seeded grain), boxes.json
([top, left, height, width] per box) and crop<k>.png, box k resized to 48 x 48.
"""
import argparse
import json
import pathlib

import numpy as np
import torchvision
import torchvision.transforms.functional as F
from PIL import Image

SIZE = 48
# Shrunk and enlarged, wide, tall, at the edges, and a small box enlarged 4x.
BOXES = [[3, 4, 40, 44], [10, 0, 30, 48], [0, 7, 48, 36], [20, 20, 12, 9], [1, 1, 45, 47], [47 - 30, 48 - 25, 30, 25]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=pathlib.Path)
    out = parser.parse_args().out
    assert all(top + height <= SIZE and left + width <= SIZE for top, left, height, width in BOXES), "a box leaves the image"
    out.mkdir(parents=True, exist_ok=True)
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    disc = ((x - 30) ** 2 + (y - 18) ** 2 < 100).astype(np.float64)
    grain = np.random.default_rng(0).integers(-20, 21, size=(SIZE, SIZE, 3))
    pixels = np.stack([x * 5, y * 5, 120 + 100 * disc], axis=-1) + grain
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    image.save(out / "image.png")
    for k, (top, left, height, width) in enumerate(BOXES):
        crop = F.resized_crop(image, top, left, height, width, [SIZE, SIZE], F.InterpolationMode.BICUBIC)
        crop.save(out / f"crop{k}.png")
    versions = {"torchvision": torchvision.__version__, "pillow": Image.__version__}
    (out / "boxes.json").write_text(json.dumps({"size": SIZE, "boxes": BOXES, "versions": versions}, indent=1) + "\n")
    print(f"{out}: {len(BOXES)} crops with torchvision {versions['torchvision']}, Pillow {versions['pillow']}")


if __name__ == "__main__":
    main()
