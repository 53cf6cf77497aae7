"""The timing the training benchmarks' Python peers share (bench/clip_train_peer.py,
bench/sprc_train_peer.py), as bench/bench_common.h's time_per_call does it: one warm-up
call, then the mean over `repeats` calls, waiting for the GPU's queue before each clock
reading."""
import time

import torch


def seconds_per_step(step, repeats, device):
    wait = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    step()
    wait()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    wait()
    return (time.perf_counter() - start) / repeats
