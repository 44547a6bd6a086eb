"""Latent walks and edit directions for a trained generator (the GAN latent-walk tab's math).

Spaces: "z" is the Gaussian input; "w" is the mapping network's output (StyleGAN), available when
the model has one. Truncation is applied in W: w' = w_avg + psi (w - w_avg) (w_avg = 0 in Z).
Directions follow GANSpace (Harkonen et al. 2020): PCA of sampled w; for a model without a mapping
network, PCA of the first layer's activations, carried back to Z by linear regression.
"""

from __future__ import annotations

import torch

from ..core.errors import UserError
from ..core.images import to_uint8
from ..core.latent import PATHS


def seed_codes(G, seeds: list[int], space: str) -> torch.Tensor:
    """One z per seed (the same z a seed gives everywhere in the app), mapped to W if asked: (K, d)."""
    if space not in ("z", "w"):
        raise UserError(f"space must be z or w, got {space!r}")
    if space == "w" and G.mapping is None:
        raise UserError("this generator has no mapping network: walk in Z")
    device = next(G.parameters()).device
    z = torch.cat([torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(int(s))) for s in seeds]).to(device)
    return G.map(z) if space == "w" else z


def walk(keys: torch.Tensor, frames: int, path: str, closed: bool = False) -> torch.Tensor:
    """`frames` codes along the keyframes (K, d), segment by segment; `closed` returns to the first."""
    if path not in PATHS:
        raise UserError(f"path must be one of {', '.join(PATHS)}")
    keys = torch.cat([keys, keys[:1]]) if closed else keys
    segments = len(keys) - 1
    if segments < 1:
        raise UserError("a walk needs at least two keyframes")
    t = torch.linspace(0, segments, frames + 1 if closed else frames)[: frames]
    out = []
    for ti in t:
        i = min(int(ti), segments - 1)
        out.append(PATHS[path](keys[i], keys[i + 1], (ti - i).view(1))[0])
    return torch.stack(out)


@torch.no_grad()
def render(G, codes: torch.Tensor, space: str, psi: float = 1.0, labels: torch.Tensor | None = None,
           class_emb: torch.Tensor | None = None, batch: int = 256) -> torch.Tensor:
    """Codes in `space` -> uint8 images. Conditional models take labels or explicit class embeddings."""
    G.eval()
    out = []
    for i in range(0, len(codes), batch):
        c = codes[i:i + batch]
        w = G.truncate(G.map(c) if space == "z" else c, psi)
        y = None if labels is None else labels[i:i + batch]
        e = None if class_emb is None else class_emb[i:i + batch]
        out.append(to_uint8(G.synthesis(w, y, e)))
    return torch.cat(out)


@torch.no_grad()
def _top_components(x: torch.Tensor, k: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The top-k singular values (k,) and right singular vectors (k, d) of the centred x (n, d), by randomized
    SVD (Halko et al. 2011; `torch.svd_lowrank`, its random start seeded here): the full SVD of the 4000 x 2048
    first-layer activations took 1.8 s of the first Directions view on 2 cores, this 0.07 s, the same
    directions to |cos| > 0.9999."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        _, s, v = torch.svd_lowrank(x, q=min(k + 15, *x.shape), niter=6)
    return s[:k], v[:, :k].T


def principal_directions(G, space: str, k: int = 5, n: int = 4000, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """GANSpace: the top-k principal directions (k, d) in `space` and the spread (k,) along each."""
    device = next(G.parameters()).device
    z = torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed)).to(device)
    if space == "w":
        w = G.map(z)
        s, v = _top_components(w - w.mean(0), k, seed)
        return v, s / (n - 1) ** 0.5
    # no mapping network: PCA of the first layer's activations, regressed back onto z
    first = G.net[0]
    inp = G._input(z, torch.zeros(n, dtype=torch.long, device=device) if G.n_classes else None)
    feats = first(inp.view(n, -1, 1, 1) if isinstance(first, torch.nn.ConvTranspose2d) else inp).flatten(1)
    feats = feats - feats.mean(0)
    _, v = _top_components(feats, k, seed)
    x = feats @ v.T  # (n, k) PCA coordinates
    coef = torch.linalg.lstsq(x, z).solution  # z ~ x @ coef: (k, z_dim)
    dirs = coef / coef.norm(dim=1, keepdim=True)
    return dirs, (z @ dirs.T).std(0)


@torch.no_grad()
def path_length(G, space: str, judge, n: int = 2000, eps: float = 1e-3, seed: int = 0, batch: int = 250) -> float:
    """Perceptual path length (Karras et al. 2019, sec. 3.2): how much the image changes along a small step of a
    walk, per step length squared, averaged over random walks. In Z (eq. 2), along a great circle:

        l_Z = E[ d(G(slerp(z1, z2; t)), G(slerp(z1, z2; t + eps))) / eps^2 ],   t ~ U(0, 1),

    and in W (eq. 3) along a straight line between w1 = f(z1) and w2 = f(z2) (lerp). d is the squared distance of
    the two images' features: the paper uses LPIPS (VGG features); here the `judge` classifier's (its `features`),
    on G's float images (rounded to uint8, a step of 1e-3 moved fewer pixels than the rounding).
    As in the paper, the values outside the 1st-99th percentiles are dropped before the mean. A lower l says
    that the walks in that space change the image more evenly (fewer sudden jumps between garments)."""
    if space not in ("z", "w"):
        raise UserError(f"space must be z or w, got {space!r}")
    if space == "w" and G.mapping is None:
        raise UserError("this generator has no mapping network: measure in Z")
    G.eval()
    device = next(G.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    out = []
    for i in range(0, n, batch):
        m = min(batch, n - i)
        z1, z2 = (torch.randn(m, G.z_dim, generator=gen).to(device) for _ in range(2))
        t = torch.rand(m, 1, generator=gen).to(device)
        if space == "z":  # slerp per row (Shoemake 1985), as `core.latent.slerp` for one pair
            a, b = z1 / z1.norm(dim=1, keepdim=True), z2 / z2.norm(dim=1, keepdim=True)
            omega = torch.arccos((a * b).sum(1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
            at = lambda s: (torch.sin((1 - s) * omega) * a + torch.sin(s * omega) * b) / torch.sin(omega)  # noqa: E731
            codes = torch.cat([at(t), at(t + eps)])
            w = G.map(codes)
        else:
            w1, w2 = G.map(z1), G.map(z2)
            w = torch.cat([w1 + t * (w2 - w1), w1 + (t + eps) * (w2 - w1)])
        f = judge.eval().features(G.synthesis(w, None, None).clamp(-1, 1)).double()
        out.append(((f[:m] - f[m:]) ** 2).sum(1) / eps ** 2)
    d = torch.cat(out)
    lo, hi = torch.quantile(d, 0.01), torch.quantile(d, 0.99)
    return float(d[(d >= lo) & (d <= hi)].mean())
