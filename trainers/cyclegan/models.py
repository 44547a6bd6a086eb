"""CycleGAN's networks (Zhu et al. 2017, sec. 4 and appendix 7.2; after junyanz/pytorch-CycleGAN-and-pix2pix).

ResNet generator: c7s1-ngf, two stride-2 downsamplings, `n_blocks` residual blocks, two transposed-conv
upsamplings, c7s1-out with tanh; instance norm, reflection padding. Both generators live in one module
(`Generators`) and both PatchGAN discriminators in another (`Discriminators`), each with a forward that
names the direction, so the shared loop (and DDP) sees one module per optimizer. The discriminators'
module also holds the history pools of generated images (Shrivastava et al. 2017), as buffers, so a
resumed run continues with the same pools.
"""

from __future__ import annotations

import torch
from torch import nn

from ..pix2pix.models import PatchDiscriminator, init_weights


class ResBlock(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3, bias=False), nn.InstanceNorm2d(c, affine=True),
                                  nn.ReLU(True), nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3, bias=False),
                                  nn.InstanceNorm2d(c, affine=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def resnet_generator(c_in: int, c_out: int, ngf: int = 32, n_blocks: int = 6) -> nn.Sequential:
    """(B, c_in, S, S) -> (B, c_out, S, S) in [-1, 1]; S divisible by 4."""
    def norm(c):
        return nn.InstanceNorm2d(c, affine=True)

    layers = [nn.ReflectionPad2d(3), nn.Conv2d(c_in, ngf, 7, bias=False), norm(ngf), nn.ReLU(True)]
    c = ngf
    for _ in range(2):
        layers += [nn.Conv2d(c, 2 * c, 3, 2, 1, bias=False), norm(2 * c), nn.ReLU(True)]
        c *= 2
    layers += [ResBlock(c) for _ in range(n_blocks)]
    for _ in range(2):
        layers += [nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1, bias=False), norm(c // 2), nn.ReLU(True)]
        c //= 2
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(c, c_out, 7), nn.Tanh()]
    return nn.Sequential(*layers)


class Generators(nn.Module):
    """G_AB: A -> B and G_BA: B -> A (G and F in Zhu et al. 2017; netG_A and netG_B in the authors' code)."""

    def __init__(self, channels: int, ngf: int, n_blocks: int):
        super().__init__()
        self.AB, self.BA = resnet_generator(channels, channels, ngf, n_blocks), resnet_generator(channels, channels, ngf, n_blocks)
        self.apply(init_weights)

    def forward(self, x: torch.Tensor, direction: str) -> torch.Tensor:
        return self.AB(x) if direction == "AtoB" else self.BA(x)


class Discriminators(nn.Module):
    """D_A (real A vs G_BA's outputs) and D_B (real B vs G_AB's outputs), plus a pool of 50 past fakes each."""

    def __init__(self, channels: int, ndf: int, n_layers: int, image_size: int, pool_size: int = 50):
        super().__init__()
        self.A = PatchDiscriminator(channels, ndf, n_layers, norm="instance")
        self.B = PatchDiscriminator(channels, ndf, n_layers, norm="instance")
        self.apply(init_weights)
        for d in "AB":
            self.register_buffer(f"pool_{d}", torch.zeros(pool_size, channels, image_size, image_size))
            self.register_buffer(f"pool_{d}_n", torch.zeros((), dtype=torch.long))

    def forward(self, x: torch.Tensor, domain: str) -> torch.Tensor:
        return self.A(x) if domain == "A" else self.B(x)

    @torch.no_grad()
    def from_pool(self, fakes: torch.Tensor, domain: str, gen: torch.Generator) -> torch.Tensor:
        """The images D sees as fake: each new fake is stored while the pool fills; afterwards, with
        probability 1/2 a stored fake is returned in its place (and replaced by it)."""
        pool, count = getattr(self, f"pool_{domain}"), getattr(self, f"pool_{domain}_n")
        out = fakes.detach().clone()
        for i in range(len(out)):
            if int(count) < len(pool):
                pool[int(count)] = out[i]
                count += 1
            elif torch.rand((), generator=gen, device=gen.device) < 0.5:
                j = int(torch.randint(0, len(pool), (), generator=gen, device=gen.device))
                out[i], pool[j] = pool[j].clone(), out[i].clone()
        return out
