"""GANs on 2-D points, for watching training live (the "Train live" lab; after GAN Lab, Kahng et al. 2018).

The networks are small MLPs; the losses are the same table (`losses.py`) the image GANs use, so what a
learner sees here (mode collapse onto one mode of the ring, its cure with WGAN-GP) is the behaviour of
the code that trains the shipped models. Everything is a plain function of tensors so the lab's
views and the tests share it.
"""

from __future__ import annotations

import dataclasses
import math
import threading

import torch
from torch import nn

from ..core.errors import UserError
from . import losses as L

TARGETS = ("ring", "spiral", "two moons", "grid")
LAB_LOSSES = ("minimax", "non-saturating", "wgan", "wgan-gp", "lsgan", "dragan", "hinge")
OPTIMIZERS = ("adam", "sgd")
RING_MODES, RING_RADIUS, RING_STD = 8, 2.0, 0.05
COVERAGE_KEPT = 200  # the mode counts a Lab keeps
_INIT_LOCK = threading.Lock()


def sample_target(name: str, n: int, gen: torch.Generator, points: torch.Tensor | None = None) -> torch.Tensor:
    """n points (n, 2) of a target distribution; "drawn" resamples user `points` with a little jitter."""
    if name == "drawn":
        if points is None or len(points) < 2:
            raise UserError("draw some points first (at least 2)")
        idx = torch.randint(0, len(points), (n,), generator=gen)
        return points[idx] + 0.03 * torch.randn(n, 2, generator=gen)
    if name == "ring":  # eight Gaussians on a circle (Metz et al. 2017)
        k = torch.randint(0, RING_MODES, (n,), generator=gen).float()
        angle = 2 * math.pi * k / RING_MODES
        centres = RING_RADIUS * torch.stack([angle.cos(), angle.sin()], 1)
        return centres + RING_STD * torch.randn(n, 2, generator=gen)
    if name == "grid":  # 5 x 5 Gaussians
        k = torch.randint(0, 5, (n, 2), generator=gen).float()
        return (k - 2) + 0.05 * torch.randn(n, 2, generator=gen)
    if name == "spiral":
        u = torch.rand(n, generator=gen) * 3 * math.pi + 0.5 * math.pi
        pts = torch.stack([u * u.cos(), u * u.sin()], 1) / (3.5 * math.pi / 2.5)
        return pts + 0.05 * torch.randn(n, 2, generator=gen)
    if name == "two moons":
        u = torch.rand(n, generator=gen) * math.pi
        upper = torch.rand(n, generator=gen) < 0.5
        x = torch.where(upper, u.cos(), 1 - u.cos())
        y = torch.where(upper, u.sin(), 0.5 - u.sin())
        return torch.stack([x - 0.5, y - 0.25], 1) * 1.6 + 0.06 * torch.randn(n, 2, generator=gen)
    raise UserError(f"target must be one of {', '.join(TARGETS)} or drawn, got {name!r}")


def ring_counts(points: torch.Tensor) -> torch.Tensor:
    """How many of the points lie within 4 std of each mode's centre: (RING_MODES,) int64."""
    angle = 2 * math.pi * torch.arange(RING_MODES) / RING_MODES
    centres = RING_RADIUS * torch.stack([angle.cos(), angle.sin()], 1)
    near, which = torch.cdist(points, centres).min(1)  # (n,): the nearest mode and how far
    return torch.bincount(which[near < 4 * RING_STD], minlength=RING_MODES)


def ring_coverage(points: torch.Tensor) -> tuple[int, float]:
    """(modes with at least 2% of the points within 4 std of their centre, share of such points)."""
    counts = ring_counts(points)
    return int((counts >= 0.02 * len(points)).sum()), float(counts.sum()) / len(points)


def energy_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """2 E|a - b| - E|a - a'| - E|b - b'| (Szekely & Rizzo 2013): 0 iff the distributions match."""
    return float(2 * torch.cdist(a, b).mean() - torch.cdist(a, a).mean() - torch.cdist(b, b).mean())


def mlp(n_in: int, n_out: int, hidden: int, layers: int) -> nn.Sequential:
    mods, d = [], n_in
    for _ in range(layers):
        mods += [nn.Linear(d, hidden), nn.LeakyReLU(0.2)]
        d = hidden
    return nn.Sequential(*mods, nn.Linear(d, n_out))


@dataclasses.dataclass(frozen=True)
class LabConfig:
    target: str = "ring"
    loss: str = "non-saturating"
    optimizer: str = "adam"
    lr_g: float = 1e-3
    lr_d: float = 1e-3
    n_critic: int = 1  # D steps per G step
    z_dim: int = 2
    hidden: int = 128
    layers: int = 3
    batch: int = 256
    gp_lambda: float = 0.1  # WGAN-GP / DRAGAN penalty weight (points live on a scale of ~2)
    clip_value: float = 0.1
    seed: int = 0

    def validate(self) -> None:
        if self.target not in (*TARGETS, "drawn"):
            raise UserError(f"target must be one of {', '.join(TARGETS)} or drawn")
        if self.loss not in LAB_LOSSES:
            raise UserError(f"loss must be one of {', '.join(LAB_LOSSES)}")
        if self.optimizer not in OPTIMIZERS:
            raise UserError(f"optimizer must be one of {', '.join(OPTIMIZERS)}")
        if not (1e-6 <= self.lr_g <= 1 and 1e-6 <= self.lr_d <= 1):
            raise UserError("learning rates must be in [1e-6, 1]")
        if not 1 <= self.n_critic <= 10:
            raise UserError("D steps per G step must be in [1, 10]")


DRAGAN_STD = 0.5  # DRAGAN's perturbation of the real points (they live on a scale of ~2)


class Lab:
    """One 2-D GAN being trained: networks, optimisers, step counter and the history of its losses."""

    def __init__(self, cfg: LabConfig, points: torch.Tensor | None = None):
        cfg.validate()
        self.cfg, self.points = cfg, points
        # nn.Linear draws its initial weights from the global RNG: seed it for this build only, one build
        # at a time (the app builds labs for several sessions at once)
        with _INIT_LOCK, torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.G = mlp(cfg.z_dim, 2, cfg.hidden, cfg.layers)
            self.D = mlp(2, 1, cfg.hidden, cfg.layers)
        opt = (lambda p, lr: torch.optim.Adam(p, lr, betas=(0.5, 0.9))) if cfg.optimizer == "adam" else \
            (lambda p, lr: torch.optim.SGD(p, lr))
        self.opt_g, self.opt_d = opt(self.G.parameters(), cfg.lr_g), opt(self.D.parameters(), cfg.lr_d)
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.z_fixed = torch.randn(512, cfg.z_dim, generator=torch.Generator().manual_seed(cfg.seed + 1))
        self.x_fixed = sample_target(cfg.target, 512, torch.Generator().manual_seed(cfg.seed + 2), points)
        self.step_count = 0
        # the losses before the first update, on the fixed points: with them the curves have a line from the first
        # step on (a plot draws no mark for one value, and after a restart Step x 1 showed empty axes)
        self.history: list[dict] = [self.losses(self.x_fixed, self.z_fixed)]
        self.coverage: list[tuple[int, int]] = []  # (step, modes covered) at each `metrics` on the ring, the latest

    def real(self, n: int) -> torch.Tensor:
        return sample_target(self.cfg.target, n, self.gen, self.points)

    def noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.cfg.z_dim, generator=self.gen)

    def train_step(self) -> dict:
        """n_critic D updates on L_D of the table, then one G update on L_G (Goodfellow et al. 2014, Algorithm 1)."""
        cfg, spec = self.cfg, L.LOSSES[self.cfg.loss]
        for _ in range(cfg.n_critic):
            x = self.real(cfg.batch)
            with torch.no_grad():
                fake = self.G(self.noise(cfg.batch))
            loss_d = spec.d(self.D(x), self.D(fake))
            gp = L.penalty(spec.penalty, self.D, x, fake, self.gen, DRAGAN_STD)
            if gp is not None:
                loss_d = loss_d + cfg.gp_lambda * gp
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            self.opt_d.step()
            if spec.clip:
                L.clip_weights(self.D, cfg.clip_value)
        loss_g = spec.g(self.D(self.G(self.noise(cfg.batch))))
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        self.step_count += 1
        row = {"step": self.step_count, "loss_d": loss_d.item(), "loss_g": loss_g.item()}
        self.history.append(row)
        return row

    def losses(self, x: torch.Tensor, z: torch.Tensor) -> dict:
        """L_D (with its penalty, from a generator of its own) and L_G on the points x and noise z, without an
        update: the history's row for the current step."""
        spec = L.LOSSES[self.cfg.loss]
        fake = self.G(z).detach()
        loss_d = spec.d(self.D(x), self.D(fake))
        gp = L.penalty(spec.penalty, self.D, x, fake, torch.Generator().manual_seed(self.cfg.seed), DRAGAN_STD)
        if gp is not None:
            loss_d = loss_d + self.cfg.gp_lambda * gp
        with torch.no_grad():
            loss_g = spec.g(self.D(fake))
        return {"step": self.step_count, "loss_d": loss_d.item(), "loss_g": loss_g.item()}

    def run(self, steps: int) -> dict:
        for _ in range(steps):
            row = self.train_step()
            if not (math.isfinite(row["loss_d"]) and math.isfinite(row["loss_g"])):
                raise UserError(f"the loss became {row['loss_d']}/{row['loss_g']} at step {self.step_count}: "
                                "lower the learning rates and reset")
        return self.history[-1] if self.history else {}

    @torch.no_grad()
    def generated(self) -> torch.Tensor:
        return self.G(self.z_fixed)

    def generator_gradients(self, n: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
        """Points G(z) and -dL_G/dG(z) at them: the direction each generated sample is being pushed."""
        fake = self.G(self.z_fixed[:n]).detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(L.LOSSES[self.cfg.loss].g(self.D(fake)) * n, fake)
        return fake.detach(), -grad

    @torch.no_grad()
    def d_map(self, lo: float, hi: float, res: int = 64) -> torch.Tensor:
        """D's raw output over a res x res grid of the plane [lo, hi]^2 (rows: y from hi down to lo)."""
        ys, xs = torch.meshgrid(torch.linspace(hi, lo, res), torch.linspace(lo, hi, res), indexing="ij")
        return self.D(torch.stack([xs.flatten(), ys.flatten()], 1)).view(res, res)

    @torch.no_grad()
    def warped_grid(self, lines: int = 11, points: int = 30) -> tuple[torch.Tensor, torch.Tensor]:
        """G applied to a regular grid of noise lines (first two z dims over [-2, 2]): (lines, points, 2) x2."""
        t = torch.linspace(-2, 2, points)
        s = torch.linspace(-2, 2, lines)
        rows = torch.stack([torch.stack([t, torch.full_like(t, v)], 1) for v in s])  # (lines, points, 2)
        cols = rows.flip(-1)
        pad = lambda a: torch.cat([a, torch.zeros(*a.shape[:-1], self.cfg.z_dim - 2)], -1)  # noqa: E731
        return self.G(pad(rows)), self.G(pad(cols))

    def metrics(self, fake: torch.Tensor | None = None) -> dict:
        """Energy distance and ring coverage of G's points on the fixed z (`fake`: those points, drawn already)."""
        fake = self.generated() if fake is None else fake
        out = {"energy_distance": round(energy_distance(fake, self.x_fixed), 4)}
        if self.cfg.target == "ring":
            modes, share = ring_coverage(fake)
            out.update(modes_covered=modes, share_near_modes=round(share, 3))
            self.coverage = [*self.coverage[-(COVERAGE_KEPT - 1):], (self.step_count, modes)]
        return out

    def coverage_range(self, steps: int) -> tuple[int, int] | None:
        """The fewest and most modes covered at the `metrics` calls of the last `steps` steps (None: none). The
        count swings from step to step while G's points move around the ring (WGAN-GP, seed 0: 8, 2, 7 at steps
        512, 516, 520): one reading alone misleads."""
        recent = [m for s, m in self.coverage if s > self.step_count - steps]
        return (min(recent), max(recent)) if recent else None
