"""Autoencoder / VAE family: config, the training step, reconstruction, sampling, evaluation.

One config covers four plain autoencoders and the VAE (Kingma & Welling 2014):
    --arch=linear --variational=false      dense linear autoencoder
    --arch=mlp --variational=false         deep autoencoder
    --arch=conv --variational=false        convolutional autoencoder
    --arch=conv --variational=false --noise_std=0.3   denoising autoencoder (noisy input, clean target)
    --arch=conv --variational=true --c=0.02           convolutional VAE, loss KL + ||x - x_tilde||^2 / (2c)
The decoder outputs logits; the image is sigmoid(logits) in [0, 1], the Gaussian likelihood's mean
(or the Bernoulli likelihood's probabilities).
"""

from __future__ import annotations

import dataclasses

import torch

from ..core.data import DataConfig, load_dataset
from ..core.errors import UserError
from ..core.images import from_uint8, to_uint8
from .losses import bernoulli_nll, gaussian_nll, gaussian_recon, kl_normal_std_normal, reparametrize
from .models import ARCHS, AutoEncoder


@dataclasses.dataclass(frozen=True)
class Config(DataConfig):
    arch: str = "conv"  # linear | mlp | conv
    variational: bool = True
    latent_dim: int = 16
    width: int = 32
    likelihood: str = "gaussian"  # gaussian: N(x_tilde, c I) (Kingma & Welling 2014, App. C.2) | bernoulli
    c: float = 0.02  # variance of the Gaussian likelihood, pixels in [0, 1]
    noise_std: float = 0.0  # > 0: denoising autoencoder, Gaussian noise of this std on [0, 1] pixels
    lr: float = 1e-3

    def validate(self) -> None:
        if self.arch not in ARCHS:
            raise UserError(f"--arch={self.arch!r}: choose one of {', '.join(ARCHS)}")
        if self.likelihood not in ("gaussian", "bernoulli"):
            raise UserError(f"--likelihood={self.likelihood!r}: choose gaussian or bernoulli")
        if self.latent_dim < 1 or self.c <= 0 or self.noise_std < 0:
            raise UserError("--latent_dim must be >= 1, --c > 0 and --noise_std >= 0")
        if self.arch == "conv" and self.image_size % 8:
            raise UserError(f"--arch=conv needs --image_size divisible by 8, got {self.image_size}")


def build(cfg: Config) -> dict:
    shape = (cfg.channels, cfg.image_size, cfg.image_size)
    return {"ae": AutoEncoder(cfg.arch, shape, cfg.latent_dim, cfg.variational, cfg.width)}


def optimizers(cfg: Config, modules: dict) -> dict:
    return {"ae": torch.optim.Adam(modules["ae"].parameters(), lr=cfg.lr)}


def add_noise(x: torch.Tensor, std: float, gen: torch.Generator | None = None) -> torch.Tensor:
    """x in [-1, 1] -> x + N(0, std^2) on the [0, 1] pixel scale, clipped to the valid range."""
    eps = torch.randn(x.shape, generator=gen, device=x.device)
    return (x + 2 * std * eps).clamp(-1, 1)


def neg_log_likelihood(cfg: Config, x: torch.Tensor, logits: torch.Tensor, full: bool = False) -> torch.Tensor:
    """Reconstruction term per image (B,): ||x - x_tilde||^2/(2c) (+ its constant if `full`), or Bernoulli."""
    x01 = (x + 1) / 2
    if cfg.likelihood == "bernoulli":
        return bernoulli_nll(x01, logits)
    fn = gaussian_nll if full else gaussian_recon
    return fn(x01, torch.sigmoid(logits), cfg.c)


def train_step(cfg: Config, modules: dict, opts: dict, batch: dict, gen: torch.Generator, accelerator) -> dict:
    ae = modules["ae"]
    x = batch["image"]  # (B, C, H, W) in [-1, 1], the clean target
    x_in = add_noise(x, cfg.noise_std, gen) if cfg.noise_std > 0 else x
    eps = torch.randn(x.shape[0], cfg.latent_dim, generator=gen, device=x.device) if cfg.variational else None
    logits, mu, logvar = ae(x_in, eps)  # through the (possibly DDP-wrapped) module's forward
    kl = kl_normal_std_normal(mu, logvar).mean() if cfg.variational else torch.zeros((), device=x.device)
    recon = neg_log_likelihood(cfg, x, logits).mean()
    # L = KL(q(z|x) || p(z)) + ||x - x_tilde||^2 / (2c)   (plain autoencoders: the second term only)
    loss = kl + recon
    opts["ae"].zero_grad(set_to_none=True)
    accelerator.backward(loss)
    opts["ae"].step()
    return {"loss": loss.detach(), "recon": recon.detach(), "kl": kl.detach()}


@torch.no_grad()
def encode(modules: dict, images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, C, H, W) -> the latent code used for interpolation: mu for a VAE, z for an autoencoder."""
    ae = modules["ae"].eval()
    return ae.encode(from_uint8(images).to(next(ae.parameters()).device))[0]


@torch.no_grad()
def decode(modules: dict, z: torch.Tensor) -> torch.Tensor:
    """(N, latent_dim) -> uint8 (N, C, H, W)."""
    ae = modules["ae"].eval()
    return to_uint8(torch.sigmoid(ae.decode(z.to(next(ae.parameters()).device))) * 2 - 1)


@torch.no_grad()
def sample(cfg: Config, modules: dict, n: int, gen: torch.Generator, label=None) -> dict:
    """Decode z ~ p(z) = N(0, I): the VAE's decoder as a generator."""
    if label is not None:
        raise UserError("autoencoders are unconditional: drop --label")
    if not cfg.variational:
        raise UserError("a plain autoencoder has no prior to sample from; use a VAE checkpoint (--variational=true)")
    z = torch.randn(n, cfg.latent_dim, generator=gen, device=gen.device)
    return {"images": torch.cat([decode(modules, z[i:i + 1000]) for i in range(0, n, 1000)])}


def translate(cfg: Config, modules: dict, images: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
    """Reconstruct uint8 images through the bottleneck (a denoising autoencoder removes noise)."""
    if direction != "AtoB":
        raise UserError("autoencoders translate one way only: --direction=AtoB (input -> reconstruction)")
    if images.shape[1:] != (cfg.channels, cfg.image_size, cfg.image_size):
        raise UserError(f"this model takes {cfg.channels}x{cfg.image_size}x{cfg.image_size} images, "
                        f"got {'x'.join(map(str, images.shape[1:]))}")
    return torch.cat([decode(modules, encode(modules, images[i:i + 1000])) for i in range(0, len(images), 1000)])


def _test_set(cfg: Config):
    return load_dataset(cfg.dataset, data_dir=cfg.data_dir, split="test", image_size=cfg.image_size,
                        channels=cfg.channels)


def monitor(cfg: Config, modules: dict, gen: torch.Generator, n: int = 1000) -> dict:
    """VAE: class entropy and FID of n prior samples at each snapshot (autoencoders: nothing)."""
    from ..core.metrics import monitor as measure

    return measure(cfg, sample(cfg, modules, n, gen)["images"]) if cfg.variational else {}


def preview(cfg: Config, modules: dict, gen: torch.Generator) -> torch.Tensor:
    """8 x 8 images. VAE: four rows of prior samples from fixed noise, then two rows of fixed test images, each
    above its reconstruction (early in a run the reconstructions are recognisable well before the prior's
    samples are). Autoencoder: the two pairs of rows alone."""
    x = _test_set(cfg).images[:32]
    x_in = to_uint8(add_noise(from_uint8(x), cfg.noise_std, gen)) if cfg.noise_std > 0 else x
    rows = [r for k in range(2) for r in (x_in[8 * k:8 * k + 8], translate(cfg, modules, x_in[8 * k:8 * k + 8]))]
    if cfg.variational:
        rows.insert(0, sample(cfg, modules, 32, gen)["images"])
    return torch.cat(rows)


@torch.no_grad()
def evaluate(loaded, n: int = 10000, seed: int = 0, **_) -> dict:
    """Test reconstruction MSE and PSNR; VAE: negative ELBO and FID/KID/class entropy of prior samples."""
    from ..core import metrics

    cfg, modules = loaded.cfg, loaded.modules
    test = _test_set(cfg)
    gen = torch.Generator().manual_seed(seed)
    x_u8 = test.images
    x_in = to_uint8(add_noise(from_uint8(x_u8), cfg.noise_std, gen)) if cfg.noise_std > 0 else x_u8
    recon = translate(cfg, modules, x_in)
    mse = ((recon.float() - x_u8.float()) / 255).pow(2).mean().item()
    out = {"test_recon_mse": round(mse, 6), "test_psnr_db": round(10 * torch.log10(torch.tensor(1 / mse)).item(), 3),
           "n_test": len(test)}
    if cfg.noise_std > 0:  # what the denoiser starts from, measured the same way
        mse_in = ((x_in.float() - x_u8.float()) / 255).pow(2).mean().item()
        out.update(noise_std=cfg.noise_std, noisy_input_psnr_db=round(10 * torch.log10(torch.tensor(1 / mse_in)).item(), 3))
    if cfg.variational:
        ae = modules["ae"].eval()
        nelbo, kls = [], []
        for i in range(0, len(x_u8), 1000):
            x = from_uint8(x_u8[i:i + 1000])
            mu, logvar = ae.encode(x)
            kl = kl_normal_std_normal(mu, logvar)
            nll = neg_log_likelihood(cfg, x, ae.decode(reparametrize(mu, logvar, gen)), full=True)
            nelbo.append(kl + nll)
            kls.append(kl)
        # -ELBO = KL(q(z|x) || p(z)) - E_q[ln p(x|z)], one z per image; the Gaussian's x is continuous,
        # so this is a density on [0, 1] pixels (can be negative), not a bit count
        out["test_neg_elbo_nats"] = round(torch.cat(nelbo).mean().item(), 2)
        out["test_kl_nats"] = round(torch.cat(kls).mean().item(), 3)
        samples = sample(cfg, modules, n, torch.Generator().manual_seed(seed))["images"]
        out.update({f"prior_{k}": v for k, v in metrics.generative_metrics(samples, x_u8).items()})
    return out
