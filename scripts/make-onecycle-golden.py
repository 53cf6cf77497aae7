"""Writes tests/golden/onecycle/onecycle.json: the learning rate and beta1 PyTorch's
OneCycleLR gives AdamW at each optimizer step, for the cases tests/lr_schedule_test.cpp
checks train/lr_schedule.cpp against (SPRC's recipe and PyTorch's defaults).

Run with the torch installation spn builds against:
    ~/.cache/spn/torch-2.11.0/bin/python3 scripts/make-onecycle-golden.py tests/golden/onecycle/onecycle.json
"""
import json
import sys

import torch

CASES = [
    # SPRC's blip_fine_tune_2.py: pct_start = 1.5 / epochs, div_factor 100
    {"total_steps": 50, "max_lr": 1e-5, "pct_start": 1.5 / 5, "div_factor": 100.0},
    {"total_steps": 37, "max_lr": 2e-5, "pct_start": 0.03, "div_factor": 100.0},
    # PyTorch's defaults
    {"total_steps": 20, "max_lr": 1e-3, "pct_start": 0.3, "div_factor": 25.0},
]


def schedule(case):
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([parameter], lr=case["max_lr"], betas=(0.9, 0.98), eps=1e-7)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=case["max_lr"], total_steps=case["total_steps"], pct_start=case["pct_start"],
        div_factor=case["div_factor"])
    lrs, beta1s = [], []
    for _ in range(case["total_steps"]):
        group = optimizer.param_groups[0]
        lrs.append(group["lr"])
        beta1s.append(group["betas"][0])
        optimizer.step()
        scheduler.step()
    return dict(case, lr=lrs, beta1=beta1s)


if __name__ == "__main__":
    with open(sys.argv[1], "w") as out:
        json.dump({"torch": torch.__version__, "cases": [schedule(case) for case in CASES]}, out, indent=1)
        out.write("\n")
