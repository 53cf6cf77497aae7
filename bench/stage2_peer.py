#!/usr/bin/env python3
"""The peer of spn-bench-softmax: the stage-2 loss step the way the PyTorch reference
code does it (SPN4CIR: full logits `q @ bank.T / tau`, `cross_entropy`, backward to the
queries), float32, on one process with the whole bank, with the same shapes and thread
count, on the CPU or on the GPU. Prints one JSON line: seconds per step and peak memory
(resident on the CPU, allocated on the GPU).

    python bench/stage2_peer.py THREADS B D N REPEATS [cpu|cuda]

Run with the Python of the torch installation spn links (CMake's SPN_TORCH_PYTHON).
"""
import json
import resource
import sys
import time

import torch


def main():
    threads, batch, dim, rows, repeats = (int(x) for x in sys.argv[1:6])
    device = torch.device(sys.argv[6] if len(sys.argv) > 6 else "cpu")
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    bank = torch.nn.functional.normalize(torch.randn(rows, dim), dim=1).to(device)
    queries = torch.nn.functional.normalize(torch.randn(batch, dim), dim=1).to(device)
    labels = (torch.arange(batch) * 7919 % rows).to(device)
    wait = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    tau = 0.02

    def step():
        q = queries.clone().requires_grad_(True)
        torch.nn.functional.cross_entropy(q @ bank.T / tau, labels).backward()

    step()  # warm-up, as the C++ side does
    wait()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    wait()
    seconds = (time.perf_counter() - start) / repeats
    if device.type == "cuda":
        peak = {"peak_gpu_memory_mib": torch.cuda.max_memory_allocated() / 2**20}
    else:
        peak = {"peak_memory_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    print(json.dumps({"step_s": seconds, **peak, "device": str(device), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
