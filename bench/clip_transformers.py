#!/usr/bin/env python3
"""The Python side of spn-bench-clip: Hugging Face transformers' CLIP ViT-B/32 (random
weights, the openai/clip-vit-base-patch32 sizes) encoding images and texts on the CPU
in float32 with the same batch sizes and thread count, one JSON line.

    python3 bench/clip_transformers.py THREADS IMAGE_BATCH TEXT_BATCH REPEATS
"""
import json
import sys
import time

import torch
import transformers


def per_second(step, items, repeats):
    step()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return items * repeats / (time.perf_counter() - start)


def main():
    threads, image_batch, text_batch, repeats = (int(x) for x in sys.argv[1:5])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = transformers.CLIPModel(transformers.CLIPConfig()).eval()  # defaults: ViT-B/32
    pixels = torch.randn(image_batch, 3, 224, 224)
    tokens = torch.randint(1, 49406, (text_batch, 77))
    tokens[:, 0], tokens[:, 20] = 49406, 49407
    with torch.inference_mode():
        images = per_second(lambda: model.get_image_features(pixel_values=pixels), image_batch, repeats)
        texts = per_second(lambda: model.get_text_features(input_ids=tokens), text_batch, repeats)
    print(json.dumps({"images_per_s": images, "texts_per_s": texts, "torch": torch.__version__,
                      "transformers": transformers.__version__}))


if __name__ == "__main__":
    main()
