"""CLIP's contrastive objective (Radford et al. 2021, Figure 3).

For a batch of N (image, text) pairs with L2-normalised embeddings I_i and T_j and a learned
temperature t, the logits are s_ij = exp(t) <I_i, T_j>. The loss is the symmetric cross-entropy
    L = 1/2 [ CE_rows(s, diag) + CE_cols(s, diag) ]
which raises the similarity of each matching pair (T_i, I_i) and lowers that of every mismatched one
(T_i, I_j), i != j: Radford et al. 2021, sec. 2.3, maximise the cosine similarity of the N real pairs
and minimise that of the N^2 - N incorrect pairings.
Deviation: with several processes, each contrasts its own batch (no all-gather of embeddings).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def clip_logits(image_emb: torch.Tensor, text_emb: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
    """s_ij = exp(t) <I_i / |I_i|, T_j / |T_j|>: (N, D), (M, D), scalar log-temperature -> (N, M)."""
    i = F.normalize(image_emb, dim=-1)
    t = F.normalize(text_emb, dim=-1)
    return logit_scale.exp() * i @ t.T


def contrastive_loss(image_emb: torch.Tensor, text_emb: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
    """L = (CE(s, diag) + CE(s^T, diag)) / 2 for N matching pairs (row i of each is a pair), (N, D) each."""
    s = clip_logits(image_emb, text_emb, logit_scale)  # (N, N)
    target = torch.arange(len(s), device=s.device)
    return 0.5 * (F.cross_entropy(s, target) + F.cross_entropy(s.T, target))
