#!/usr/bin/env python3
"""The peer of spn-bench-clip-train: Hugging Face transformers' CLIPModel (random
weights, the openai/clip-vit-base-patch32 sizes) training on random images and 77-token
texts the way a PyTorch script does it: model(..., return_loss=True), backward,
torch.optim.AdamW, in float32 and in bf16 autocast, on the CPU or the GPU. Prints one
JSON line: {"fp32": {...}, "bf16": {...}, ...} with seconds per step and pairs/s.

    python bench/clip_train_peer.py THREADS BATCH REPEATS [cpu|cuda]

Run with the Python of the torch installation spn links (CMake's SPN_TORCH_PYTHON).
"""
import json
import sys

import torch
import transformers

from peer_timing import seconds_per_step


def main():
    threads, batch, repeats = (int(x) for x in sys.argv[1:4])
    device = torch.device(sys.argv[4] if len(sys.argv) > 4 else "cpu")
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = transformers.CLIPModel(transformers.CLIPConfig()).to(device).train()  # defaults: ViT-B/32
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    pixels = torch.randn(batch, 3, 224, 224, device=device)
    tokens = torch.randint(1, 49406, (batch, 77), device=device)
    tokens[:, 0], tokens[:, 20] = 49406, 49407
    result = {"torch": torch.__version__, "transformers": transformers.__version__, "device": str(device)}
    for name, dtype in (("fp32", None), ("bf16", torch.bfloat16)):
        def step():
            optimizer.zero_grad()
            with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
                loss = model(input_ids=tokens, pixel_values=pixels, return_loss=True).loss
            loss.backward()
            optimizer.step()

        seconds = seconds_per_step(step, repeats, device)
        result[name] = {"step_s": seconds, "pairs_per_s": batch / seconds}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
