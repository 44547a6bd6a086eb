"""Paths through a latent space, shared by the VAE interpolation and the GAN latent walk."""

from __future__ import annotations

import torch


def lerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """z(t) = (1 - t) z0 + t z1 for each t: (d,), (d,), (T,) -> (T, d)."""
    t = t.view(-1, 1).to(z0.dtype)
    return (1 - t) * z0 + t * z1


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """Spherical interpolation (Shoemake 1985): z(t) = [sin((1-t) W) z0 + sin(t W) z1] / sin W,
    cos W = <z0, z1> / (|z0| |z1|). Falls back to lerp when z0 and z1 are (anti)parallel."""
    t = t.view(-1, 1).to(z0.dtype)
    cos = (z0 @ z1) / (z0.norm() * z1.norm()).clamp_min(eps)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if omega.abs() < 1e-4 or (torch.pi - omega).abs() < 1e-4:
        return lerp(z0, z1, t)
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


PATHS = {"lerp": lerp, "slerp": slerp}
