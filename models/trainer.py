"""Fine-tuning loop: CUDA with bf16 autocast when present, CPU otherwise.

A plain loop rather than ``transformers.Trainer`` because what matters here is small and explicit:
length-bucketed batches (twice as fast on CPU), on-the-fly augmentation, and a seeded run that
is repeatable on the same machine.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm
from transformers import AutoTokenizer, PreTrainedTokenizerBase, get_cosine_schedule_with_warmup

from models.augment import augment
from models.batching import bucketed_batches, random_batches, sorted_batches
from models.corpus import Example
from models.labels import INTENTS
from models.network import MeanPoolClassifier
from models.training_args import TrainingArguments


@dataclass
class TrainedNetwork:
    model: MeanPoolClassifier
    tokenizer: PreTrainedTokenizerBase
    device: str
    seconds: float
    loss_history: list[float] = field(default_factory=list)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(requested: str | None) -> str:
    if requested:
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"


def pad_batch(ids: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(row) for row in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for i, row in enumerate(ids):
        input_ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return input_ids, mask


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, object]]:
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for name, param in model.named_parameters():
        (no_decay if param.ndim < 2 or "LayerNorm" in name or "norm" in name else decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def train_network(
    args: TrainingArguments, examples: Sequence[Example], progress: bool = True
) -> TrainedNetwork:
    seed_everything(args.seed)
    device = pick_device(args.device)
    tokenizer = AutoTokenizer.from_pretrained(args.base_model)
    model = MeanPoolClassifier.from_pretrained(args.base_model, len(INTENTS)).to(device)
    label_ids = torch.tensor([INTENTS.index(e.label) for e in examples], dtype=torch.long)
    steps_per_epoch = math.ceil(len(examples) / args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    optimizer = torch.optim.AdamW(_param_groups(model, args.weight_decay), lr=args.learning_rate)
    scheduler = get_cosine_schedule_with_warmup(optimizer, int(total_steps * args.warmup_ratio), total_steps)
    loss_fn = nn.CrossEntropyLoss()
    rng = random.Random(args.seed)
    use_bf16 = device.startswith("cuda")
    history: list[float] = []
    started = time.perf_counter()
    model.train()
    bar = tqdm(total=total_steps, disable=not progress, desc="training", unit="step")
    for epoch in range(args.epochs):
        texts = [
            augment(e.model_text, rng) if rng.random() < args.augment_prob else e.model_text for e in examples
        ]
        encoded = tokenizer(texts, truncation=True, max_length=args.max_length)["input_ids"]
        if args.length_bucketing:
            batches = bucketed_batches([len(ids) for ids in encoded], args.batch_size, rng)
        else:
            batches = random_batches(len(encoded), args.batch_size, rng)
        for batch in batches:
            input_ids, mask = pad_batch([encoded[i] for i in batch], tokenizer.pad_token_id or 0)
            targets = label_ids[batch].to(device)
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=use_bf16):
                logits = model(input_ids.to(device), mask.to(device))
            loss = loss_fn(logits.float(), targets)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            history.append(loss.item())
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{np.mean(history[-50:]):.4f}")
    bar.close()
    if use_bf16:
        torch.cuda.synchronize()
    model.eval()
    return TrainedNetwork(model, tokenizer, device, time.perf_counter() - started, history)


@torch.no_grad()
def predict_logits(
    model: MeanPoolClassifier,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    max_length: int = 128,
    batch_size: int = 64,
    device: str = "cpu",
) -> np.ndarray:
    """fp32 logits in input order, for parity checks against the exported model."""
    model.eval()
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
    out = np.zeros((len(texts), len(INTENTS)), dtype=np.float32)
    for batch in sorted_batches([len(ids) for ids in encoded], batch_size):
        input_ids, mask = pad_batch([encoded[i] for i in batch], tokenizer.pad_token_id or 0)
        logits = model(input_ids.to(device), mask.to(device)).float().cpu().numpy()
        out[batch] = logits
    return out
