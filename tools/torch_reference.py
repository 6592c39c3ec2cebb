#!/usr/bin/env python3
"""The lectures' MLP training loop in PyTorch, timed: the reference the trainer's speed is
compared with (`cargo bench -p trainer --bench train_speed` runs it side by side when
TORCH_PYTHON names a Python with torch installed; it is not a dependency of the project).

The recipe is the lecture's ("Building makemore Part 3"): a 3-symbol context, n_embd 10,
n_hidden 200, scaled initialisation, batch 32, plain SGD at lr 0.1, the loss read back every
step; one thread. The data handling matches the trainer's: the vocabulary is '.' then the
sorted symbols, words are shuffled with the seed and split 80/10/10, and a word gives one
example per symbol plus the final '.'.

Usage: torch_reference.py WORDS.txt STEPS  ->  one JSON line on stdout
"""

import json
import random
import sys
import time

import torch
import torch.nn.functional as F


def examples(words, stoi, block_size):
    xs, ys = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            xs.append(context)
            ys.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(xs), torch.tensor(ys)


def main():
    path, steps = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(1)
    words = [w.strip() for w in open(path, encoding="utf-8") if w.strip()]
    chars = sorted(set("".join(words)))
    stoi = {".": 0, **{c: i + 1 for i, c in enumerate(chars)}}
    random.seed(42)
    random.shuffle(words)
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    block_size, n_embd, n_hidden, vocab_size = 3, 10, 200, len(stoi)
    xtr, ytr = examples(words[:n1], stoi, block_size)
    xdev, ydev = examples(words[n1:n2], stoi, block_size)

    g = torch.Generator().manual_seed(2147483647)
    C = torch.randn((vocab_size, n_embd), generator=g)
    W1 = torch.randn((n_embd * block_size, n_hidden), generator=g) * (5 / 3) / (n_embd * block_size) ** 0.5
    b1 = torch.randn(n_hidden, generator=g) * 0.01
    W2 = torch.randn((n_hidden, vocab_size), generator=g) * 0.01
    b2 = torch.randn(vocab_size, generator=g) * 0
    parameters = [C, W1, b1, W2, b2]
    for p in parameters:
        p.requires_grad = True

    batch_size, warmup = 32, 300
    lossi = []
    for i in range(warmup + steps):
        if i == warmup:
            start = time.perf_counter()
        ix = torch.randint(0, xtr.shape[0], (batch_size,), generator=g)
        xb, yb = xtr[ix], ytr[ix]
        emb = C[xb]
        h = torch.tanh(emb.view(emb.shape[0], -1) @ W1 + b1)
        logits = h @ W2 + b2
        loss = F.cross_entropy(logits, yb)
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = 0.1 if i < 100000 else 0.01
        for p in parameters:
            p.data += -lr * p.grad
        lossi.append(loss.log10().item())
    seconds = time.perf_counter() - start

    with torch.no_grad():
        h = torch.tanh(C[xdev].view(xdev.shape[0], -1) @ W1 + b1)
        dev = F.cross_entropy(h @ W2 + b2, ydev).item()
    print(json.dumps({"torch": torch.__version__, "steps": steps, "seconds": seconds,
                      "steps_per_second": steps / seconds, "dev_loss": dev}))


if __name__ == "__main__":
    main()
