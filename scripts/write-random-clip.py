#!/usr/bin/env python3
"""Writes a tiny random CLIP model directory for measuring spn at an input size.

    python3 scripts/write-random-clip.py OUT_DIR [--image-size 288] [--patch-size 32] [--width-scale 1]

The golden ViT CLIP's architecture (tests/golden/clip_vit: vision width 48, text width 32,
2 layers, embedding 24) with its vision tower sized for --image-size and both towers'
widths (hidden and MLP) times --width-scale (the zero-shot study's CLIP: 2, so text 64
and vision 96), random float16 weights (seeded), and the golden tokenizer beside it:
what tests/clip_launch_test.cpp writes for 32 px, for loader and memory measurements at
CLIP4CIR's 288 px (README, "How images are loaded").
Standard library only.
"""
import argparse
import json
import pathlib
import random
import shutil
import struct

ROOT = pathlib.Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"


def read_header(path):
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(size))


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, shape, values in tensors:
        blob = struct.pack("<%de" % len(values), *values)
        header[name] = {"dtype": "F16", "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for blob in blobs:
            f.write(blob)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--image-size", type=int, default=288)
    parser.add_argument("--patch-size", type=int, default=32)
    parser.add_argument("--width-scale", type=int, default=1,
                        help="multiplies both towers' hidden and MLP widths (not the embedding)")
    args = parser.parse_args()
    if args.image_size % args.patch_size:
        parser.error("--image-size must be a multiple of --patch-size")
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("vocab.json", "merges.txt"):
        shutil.copyfile(GOLDEN / "tokenizer" / name, out / name)
    vocab = len(json.loads((out / "vocab.json").read_text()))

    config = json.loads((GOLDEN / "clip_vit" / "config.json").read_text())
    config["vision_config"]["image_size"] = args.image_size
    config["vision_config"]["patch_size"] = args.patch_size
    config["text_config"]["vocab_size"] = vocab
    # Each tower's widths, golden -> scaled, to resize every tensor side that is one.
    scaled = {}
    for tower in ("text", "vision"):
        tower_config = config[tower + "_config"]
        scaled[tower] = {tower_config[key]: tower_config[key] * args.width_scale
                         for key in ("hidden_size", "intermediate_size")}
        for key in ("hidden_size", "intermediate_size"):
            tower_config[key] *= args.width_scale
    config["text_config"]["eos_token_id"] = 2  # pool at the end token, CLIP's largest id
    (out / "config.json").write_text(json.dumps(config, indent=1))

    width = config["vision_config"]["hidden_size"]
    positions = (args.image_size // args.patch_size) ** 2 + 1
    rng = random.Random(0)
    tensors = []
    for name, entry in sorted(read_header(GOLDEN / "clip_vit" / "model.safetensors").items()):
        if name == "__metadata__":
            continue
        tower = "text" if name.startswith("text") else "vision"
        shape = [scaled[tower].get(side, side) for side in entry["shape"]]
        if name == "vision_model.embeddings.patch_embedding.weight":
            shape = [width, 3, args.patch_size, args.patch_size]
        elif name == "vision_model.embeddings.position_embedding.weight":
            shape = [positions, width]
        elif name == "text_model.embeddings.token_embedding.weight":
            shape = [vocab, shape[1]]
        count = 1
        for side in shape:
            count *= side
        if name == "logit_scale":
            values = [4.6052]
        elif name.endswith("layer_norm1.weight") or name.endswith("layer_norm2.weight") or name.endswith(
                "layernorm.weight") or name.endswith("layrnorm.weight") or name.endswith("final_layer_norm.weight"):
            values = [1.0] * count
        elif name.endswith(".bias"):
            values = [0.0] * count
        else:
            values = [rng.gauss(0.0, 0.02) for _ in range(count)]
        tensors.append((name, shape, values))
    write_safetensors(out / "model.safetensors", tensors)
    print(f"{out}: random CLIP, {args.image_size} px in {args.patch_size}-px patches, {vocab} tokens")


if __name__ == "__main__":
    main()
