#!/usr/bin/env python3
# bench/reference/torch_wanda_sort.py: how long the official Wanda selection
# (lib/prune.py: W_metric = |W| * sqrt(scaler_row); torch.sort(dim=-1,
# stable=True); zero the first int(cols * s) of every row) takes in PyTorch
# on the 7 linears of a LLaMA-7B layer (random weights and scaler_row), on
# the same number of threads as bench/bench_prune.c. Run by hand next to
# `make bench` (needs python3-torch; not a dependency of anything):
#   python3 bench/reference/torch_wanda_sort.py [threads]
# It prints one line to compare with the wanda_sort row of
# bench/results/prune.json (our C introsort of the same selection).
import sys
import time

import torch

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
torch.set_num_threads(threads)
torch.manual_seed(0)
shapes = [(4096, 4096)] * 4 + [(11008, 4096)] * 2 + [(4096, 11008)]
total = 0.0
for rows, cols in shapes:
    W = torch.randn(rows, cols)
    scaler_row = torch.rand(cols)
    t0 = time.perf_counter()
    metric = W.abs() * torch.sqrt(scaler_row.reshape(1, -1))
    idx = torch.sort(metric, dim=-1, stable=True)[1][:, : int(cols * 0.5)]
    W.scatter_(1, idx, 0.0)
    total += time.perf_counter() - t0
print("torch wanda sort-based selection, 7 linears of a 7B layer, 50%%: "
      "%.2f s (torch %s, %d threads)" % (total, torch.__version__, threads))
