"""The noise-prediction network eps_theta(x_t, t, y): a U-Net with self-attention (Ho et al. 2020, App. B).

Convolutional residual blocks at each resolution, downsampling then upsampling with skip connections
(Ronneberger et al. 2015); self-attention between the convolutional blocks at low resolution (Ho et al. 2020,
App. B: at 16x16 there); the timestep enters every residual block through a sinusoidal embedding
(Vaswani et al. 2017, sec. 3.5) and an MLP, as in Ho et al. 2020. A class label, when the model is
conditional, is embedded and added to the time embedding; label `n_classes` is the "no label" token
used for classifier-free guidance. An image-conditioned model (SR3, Saharia et al. 2021, sec. 2.4) takes its
condition concatenated to x_t along the channels: `cond_channels` more input channels.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """[cos(t w_i), sin(t w_i)], w_i = max_period^(-i / (dim/2)), i < dim/2 (Vaswani et al. sec. 3.5). (B, dim).
    Deviation: the halves are concatenated (cos first, as diffusers' `flip_sin_to_cos`), not interleaved."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


def _norm(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, c), c)


class ResBlock(nn.Module):
    """h = conv(SiLU(GN(x))) + Linear(SiLU(emb)); out = skip(x) + conv(dropout(SiLU(GN(h)))), where skip is
    the identity, or a 1x1 convolution when the width changes."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, dropout: float):
        super().__init__()
        self.norm1, self.conv1 = _norm(c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2, self.conv2 = _norm(c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.dropout = nn.Dropout(dropout)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        nn.init.zeros_(self.conv2.weight)  # each block starts as the identity
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(F.silu(emb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class SelfAttention(nn.Module):
    """Multi-head self-attention over the H*W positions: softmax(Q K^T / sqrt(d)) V, plus the input."""

    def __init__(self, c: int, heads: int = 4):
        super().__init__()
        self.norm, self.heads = _norm(c), heads
        self.qkv, self.proj = nn.Conv2d(c, 3 * c, 1), nn.Conv2d(c, c, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, h * w).unbind(1)
        # (B, heads, HW, d) each
        out = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2), v.transpose(-1, -2))
        return x + self.proj(out.transpose(-1, -2).reshape(b, c, h, w))


class UNet(nn.Module):
    """eps_theta(x_t, t, y): (B, C, H, W), (B,) int timesteps, (B,) labels or None -> (B, C, H, W). With
    `cond_channels`, eps_theta(x_t, t, cond) takes (B, cond_channels, H, W) `cond` beside x_t."""

    def __init__(self, channels: int = 1, base: int = 32, mults: tuple[int, ...] = (1, 2, 2), blocks: int = 1,
                 attn_res: tuple[int, ...] = (8,), image_size: int = 32, n_classes: int = 0, dropout: float = 0.1,
                 cond_channels: int = 0):
        super().__init__()
        emb_dim = 4 * base
        self.base, self.n_classes, self.cond_channels = base, n_classes, cond_channels
        self.time_mlp = nn.Sequential(nn.Linear(base, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.label_emb = nn.Embedding(n_classes + 1, emb_dim) if n_classes else None
        self.inp = nn.Conv2d(channels + cond_channels, base, 3, padding=1)

        self.down = nn.ModuleList()
        skips, c, res = [base], base, image_size
        for level, m in enumerate(mults):
            for _ in range(blocks):
                self.down.append(nn.ModuleList([ResBlock(c, base * m, emb_dim, dropout),
                                                SelfAttention(base * m) if res in attn_res else nn.Identity()]))
                c = base * m
                skips.append(c)
            if level < len(mults) - 1:
                self.down.append(nn.Conv2d(c, c, 3, stride=2, padding=1))  # downsample
                skips.append(c)
                res //= 2
        self.mid = nn.ModuleList([ResBlock(c, c, emb_dim, dropout), SelfAttention(c), ResBlock(c, c, emb_dim, dropout)])
        self.up = nn.ModuleList()
        for level, m in reversed(list(enumerate(mults))):
            for _ in range(blocks + 1):
                self.up.append(nn.ModuleList([ResBlock(c + skips.pop(), base * m, emb_dim, dropout),
                                              SelfAttention(base * m) if res in attn_res else nn.Identity()]))
                c = base * m
            if level > 0:
                self.up.append(nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c, c, 3, padding=1)))
                res *= 2
        self.out = nn.Sequential(_norm(c), nn.SiLU(), nn.Conv2d(c, channels, 3, padding=1))
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None,
                cond: torch.Tensor | None = None) -> torch.Tensor:
        if self.cond_channels:
            if cond is None or cond.shape[1] != self.cond_channels or cond.shape[-2:] != x.shape[-2:]:
                raise ValueError(f"this U-Net takes a {self.cond_channels}-channel condition of x_t's size, got "
                                 f"{None if cond is None else tuple(cond.shape)}")
            x = torch.cat([x, cond], 1)
        emb = self.time_mlp(timestep_embedding(t, self.base))
        if self.label_emb is not None:
            if y is None:  # unconditional call of a conditional model: the "no label" token
                y = torch.full((x.shape[0],), self.n_classes, device=x.device, dtype=torch.long)
            emb = emb + self.label_emb(y)
        h = self.inp(x)
        hs = [h]
        for layer in self.down:
            if isinstance(layer, nn.ModuleList):
                block, attn = layer
                h = attn(block(h, emb))
            else:
                h = layer(h)
            hs.append(h)
        h = self.mid[2](self.mid[1](self.mid[0](h, emb)), emb)
        for layer in self.up:
            if isinstance(layer, nn.ModuleList):
                block, attn = layer
                h = attn(block(torch.cat([h, hs.pop()], 1), emb))
            else:
                h = layer(h)
        return self.out(h)
