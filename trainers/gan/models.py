"""GAN networks.

DCGAN (Radford et al. 2016) follows the paper's architecture guidelines (sec. 3): strided
(transposed) convolutions instead of pooling, BatchNorm except in G's last and D's first layer,
ReLU in G with tanh at the output, LeakyReLU(0.2) in D (Adam with beta1 = 0.5 is set in train.py).
The MLP GAN is the original fully connected GAN (Goodfellow et al. 2014). Both take:
  - a class label (conditional GAN, Mirza & Osindero 2014): G gets z concatenated with a label
    embedding; D gets the one-hot label concatenated to its input (as constant channels for images);
  - an optional StyleGAN-style mapping network z -> w, an MLP (8 layers by default, as in Karras et al.
    2019, sec. 2), so that G = synthesis(mapping(z)); G tracks the mean w_avg for truncation in W.
Shapes: z (B, z_dim), y (B,) int64, x (B, C, S, S) in [-1, 1], D's output (B,).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _n_up(image_size: int) -> int:
    if image_size not in (32, 64):
        raise ValueError(f"DCGAN supports image_size 32 or 64, got {image_size}")
    return int(math.log2(image_size)) - 2


class EqualLinear(nn.Module):
    """A linear layer with the equalised learning rate of Karras et al. 2018 (sec. 4.1), as StyleGAN's mapping
    network uses it (Karras et al. 2019, appendix C): weights stored as N(0, 1) / lr_mul and scaled at run time
    by lr_mul * sqrt(2 / fan_in) (He's constant), so every layer starts at unit gain and Adam moves the mapping
    lr_mul times slower than the synthesis network. Plain PyTorch-initialised layers lose ~80 % of the variance
    per layer: after 8 of them w is almost the bias alone and z barely reaches G."""

    def __init__(self, in_features: int, out_features: int, lr_mul: float = 0.01):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.w_scale, self.lr_mul = lr_mul * math.sqrt(2.0 / in_features), lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.w_scale, self.bias * self.lr_mul)


class MappingNetwork(nn.Module):
    """w = f(z): normalise z (StyleGAN's pixel norm), then `layers` x (EqualLinear, LeakyReLU(0.2))."""

    def __init__(self, z_dim: int, layers: int = 8, lr_mul: float = 0.01):
        super().__init__()
        blocks = []
        for _ in range(layers):
            blocks += [EqualLinear(z_dim, z_dim, lr_mul), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*blocks)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)
        return self.net(z)


class _GeneratorBase(nn.Module):
    """mapping (optional) -> [w, embed(y)] -> synthesis network `self.net`."""

    def _setup_latent(self, z_dim: int, n_classes: int, mapping_layers: int) -> int:
        self.z_dim, self.n_classes = z_dim, n_classes
        if mapping_layers:
            self.mapping = MappingNetwork(z_dim, mapping_layers)
            self.register_buffer("w_avg", torch.zeros(z_dim))
        else:
            self.mapping = None
        if n_classes:
            self.embed = nn.Embedding(n_classes, z_dim)
        return 2 * z_dim if n_classes else z_dim

    def map(self, z: torch.Tensor) -> torch.Tensor:
        """z -> w (the identity without a mapping network)."""
        return self.mapping(z) if self.mapping is not None else z

    def truncate(self, w: torch.Tensor, psi: float) -> torch.Tensor:
        """w' = w_avg + psi (w - w_avg) (Karras et al. 2019, eq. 3; w_avg = 0 without a mapping network)."""
        if psi == 1.0:
            return w
        avg = self.w_avg if self.mapping is not None else torch.zeros_like(w[0])
        return avg + psi * (w - avg)

    def _input(self, w: torch.Tensor, y: torch.Tensor | None, e: torch.Tensor | None = None) -> torch.Tensor:
        """[w, embed(y)]; `e` replaces embed(y) (e.g. a blend of two classes' embeddings)."""
        if self.n_classes:
            if e is None:
                if y is None:
                    raise ValueError("this generator is conditional: pass class labels y")
                e = self.embed(y)
            return torch.cat([w, e], dim=1)
        return w

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None, psi: float = 1.0) -> torch.Tensor:
        return self.synthesis(self.truncate(self.map(z), psi), y)


class Generator(_GeneratorBase):
    """DCGAN G: [w, embed(y)] -> project to 4x4 -> double the size n times -> x (B, C, S, S)."""

    def __init__(self, z_dim: int = 100, ngf: int = 32, channels: int = 1, image_size: int = 32,
                 n_classes: int = 0, mapping_layers: int = 0):
        super().__init__()
        in_dim = self._setup_latent(z_dim, n_classes, mapping_layers)
        n = _n_up(image_size)
        c = ngf * 2 ** (n - 1)
        layers = [nn.ConvTranspose2d(in_dim, c, 4, 1, 0, bias=False), nn.BatchNorm2d(c), nn.ReLU(True)]  # (B, c, 4, 4)
        for _ in range(n - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Tanh()]  # no BatchNorm on G's last layer
        self.net = nn.Sequential(*layers)

    def synthesis(self, w: torch.Tensor, y: torch.Tensor | None = None, e: torch.Tensor | None = None) -> torch.Tensor:
        h = self._input(w, y, e)
        return self.net(h.view(h.shape[0], -1, 1, 1))


class MLPGenerator(_GeneratorBase):
    """The original fully connected G: [w, embed(y)] -> 256 -> 512 -> 1024 -> C*S*S, tanh."""

    def __init__(self, z_dim: int = 100, ngf: int = 32, channels: int = 1, image_size: int = 32,
                 n_classes: int = 0, mapping_layers: int = 0):
        super().__init__()
        in_dim = self._setup_latent(z_dim, n_classes, mapping_layers)
        self.shape = (channels, image_size, image_size)
        self.net = nn.Sequential(nn.Linear(in_dim, 256), nn.LeakyReLU(0.2, True), nn.Linear(256, 512),
                                 nn.LeakyReLU(0.2, True), nn.Linear(512, 1024), nn.LeakyReLU(0.2, True),
                                 nn.Linear(1024, math.prod(self.shape)), nn.Tanh())

    def synthesis(self, w: torch.Tensor, y: torch.Tensor | None = None, e: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(self._input(w, y, e)).view(-1, *self.shape)


def _spectral(module: nn.Module) -> nn.Module:
    """W / sigma(W), sigma the largest singular value by one power iteration per step (Miyato et al. 2018,
    eq. 8): D is 1-Lipschitz per layer, the regulariser projection discriminators were designed with."""
    return nn.utils.parametrizations.spectral_norm(module)


def apply_spectral_norm(d: nn.Module) -> None:
    """Spectral normalisation on every convolution, linear layer and class embedding of a discriminator."""
    for name, m in list(d.named_modules()):
        if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding)):
            _spectral(m)


def _norm(kind: str, c: int) -> nn.Module:
    # BatchNorm couples the samples of a batch, which breaks the per-sample gradient penalties of
    # WGAN-GP and DRAGAN (Gulrajani et al. 2017, sec. 4): they use layer normalisation instead
    return {"batch": lambda: nn.BatchNorm2d(c), "layer": lambda: nn.GroupNorm(1, c), "none": nn.Identity,
            "spectral": nn.Identity}[kind]()


def _with_labels(x: torch.Tensor, y: torch.Tensor | None, n_classes: int) -> torch.Tensor:
    """Concatenate one-hot labels to D's input: as extra constant channels (B, C + K, S, S) for images,
    extra features for flat inputs (conditional GAN, Mirza & Osindero 2014)."""
    if not n_classes:
        return x
    if y is None:
        raise ValueError("this discriminator is conditional: pass class labels y")
    onehot = F.one_hot(y, n_classes).to(x.dtype)
    if x.ndim == 4:
        onehot = onehot[:, :, None, None].expand(-1, -1, *x.shape[2:])
    return torch.cat([x, onehot], dim=1)


class Discriminator(nn.Module):
    """DCGAN D: halve the size n times, then a 4x4 convolution to one number per image.

    A conditional D takes its label one of two ways (`cond`):
    - "concat": one-hot channels concatenated to the input (Mirza & Osindero 2014);
    - "projection": D(x, y) = psi(phi(x)) + <embed(y), sum phi(x)>, the inner product of a class
      embedding with D's pooled features (Miyato & Koyama 2018, eq. 3).

    `aux_classes` > 0 adds an auxiliary classifier head on the pooled features phi(x), the AC-GAN
    discriminator's P(C | X) (Odena et al. 2017, sec. 3); `forward(..., logits=True)` also returns its
    class logits. With "concat" the label is in D's input, so the head would read it back: use "projection".
    """

    def __init__(self, ndf: int = 32, channels: int = 1, image_size: int = 32, n_classes: int = 0,
                 norm: str = "batch", cond: str = "concat", aux_classes: int = 0):
        super().__init__()
        n = _n_up(image_size)
        concat = n_classes if cond == "concat" else 0
        layers = [nn.Conv2d(channels + concat, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]  # no norm on D's first layer
        c = ndf
        for _ in range(n - 1):
            layers += [nn.Conv2d(c, 2 * c, 4, 2, 1, bias=norm in ("none", "spectral")), _norm(norm, 2 * c),
                       nn.LeakyReLU(0.2, True)]
            c *= 2
        layers += [nn.Conv2d(c, 1, 4, 1, 0)]  # psi: (B, 1, 1, 1); everything before it is phi: (B, c, 4, 4)
        self.net = nn.Sequential(*layers)
        self.n_classes, self.cond = n_classes, cond
        if n_classes and cond == "projection":
            self.embed = nn.Embedding(n_classes, c)
            # small like DCGAN's weights (N(0, 0.02)): the default N(0, 1) over c summed features starts
            # D's logits in the tens and the game never recovers
            nn.init.normal_(self.embed.weight, 0.0, 0.02)
        self.aux = nn.Linear(c, aux_classes) if aux_classes else None
        self.spectral = norm == "spectral"

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, logits: bool = False):
        if self.cond != "projection":
            d = self.net(_with_labels(x, y, self.n_classes)).flatten()
            return (d, None) if logits else d
        h = self.net[:-1](x)
        d = self.net[-1](h).flatten()
        if self.n_classes:
            if y is None:
                raise ValueError("this discriminator is conditional: pass class labels y")
            d = d + (self.embed(y) * h.sum(dim=(2, 3))).sum(dim=1)
        if not logits:
            return d
        return d, (self.aux(h.mean(dim=(2, 3))) if self.aux is not None else None)


class MLPDiscriminator(nn.Module):
    """The original fully connected D: C*S*S (+ one-hot label) -> 512 -> 256 -> 1."""

    def __init__(self, ndf: int = 32, channels: int = 1, image_size: int = 32, n_classes: int = 0, norm: str = "none"):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(channels * image_size ** 2 + n_classes, 512), nn.LeakyReLU(0.2, True),
                                 nn.Linear(512, 256), nn.LeakyReLU(0.2, True), nn.Linear(256, 1))
        self.n_classes = n_classes

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(_with_labels(x.flatten(1), y, self.n_classes)).flatten()


class AutoencoderDiscriminator(nn.Module):
    """BEGAN's D: an autoencoder x -> h (h_dim) -> AE(x); its reconstruction error is the 'energy'.

    `k` (a buffer, so it is saved and resumed) is BEGAN's k_t, the weight of L(G(z)) in L_D.
    """

    def __init__(self, ndf: int = 32, channels: int = 1, image_size: int = 32, h_dim: int = 64):
        super().__init__()
        n = _n_up(image_size)
        enc = [nn.Conv2d(channels, ndf, 3, 1, 1), nn.ELU()]
        c = ndf
        for _ in range(n):
            enc += [nn.Conv2d(c, c + ndf, 4, 2, 1), nn.ELU()]  # halve: S -> 4
            c += ndf
        self.encoder = nn.Sequential(*enc, nn.Flatten(), nn.Linear(c * 16, h_dim))
        self.fc = nn.Linear(h_dim, ndf * 16)
        dec = []
        for _ in range(n):
            dec += [nn.Conv2d(ndf, ndf, 3, 1, 1), nn.ELU(), nn.Upsample(scale_factor=2, mode="nearest")]
        self.decoder = nn.Sequential(*dec, nn.Conv2d(ndf, channels, 3, 1, 1), nn.Tanh())
        self.ndf = ndf
        self.register_buffer("k", torch.zeros(()))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.fc(self.encoder(x)).view(-1, self.ndf, 4, 4)
        return self.decoder(F.elu(h))


def init_weights(m: nn.Module) -> None:
    """DCGAN initialisation: N(0, 0.02) for convolutions, N(1, 0.02) for BatchNorm scales."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)
