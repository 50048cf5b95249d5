"""The trainable network: any Hugging Face encoder, mean pooling, a linear head.

Mean pooling (not the [CLS] pooler) because the default base, all-MiniLM-L6-v2, was trained as a
sentence encoder with mean pooling and ships without a trained pooler layer. Torch lives only here
and in the trainer/exporter: the serving path never imports this module.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, PretrainedConfig


class MeanPoolClassifier(nn.Module):
    def __init__(self, encoder: nn.Module, hidden_size: int, num_labels: int, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, num_labels)

    @classmethod
    def from_pretrained(cls, name_or_path: str, num_labels: int) -> MeanPoolClassifier:
        encoder = AutoModel.from_pretrained(name_or_path)
        return cls(encoder, encoder.config.hidden_size, num_labels)

    @classmethod
    def from_config(cls, config: PretrainedConfig, num_labels: int) -> MeanPoolClassifier:
        """Random weights with the architecture's real compute: for latency comparisons."""
        encoder = AutoModel.from_config(config)
        return cls(encoder, config.hidden_size, num_labels)

    @staticmethod
    def load_config(name_or_path: str) -> PretrainedConfig:
        return AutoConfig.from_pretrained(name_or_path)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-6)
        return self.head(self.dropout(pooled))
