"""SRGAN's objective (Ledig et al. 2017, sec. 2.2), one function per term:

    l_SR      = l_X + 1e-3 l_Gen                                        (eq. 3: the perceptual loss)
    l_MSE     = 1/(r^2 W H) sum (I_HR - G(I_LR))^2                         (eq. 4: the pixel-wise content loss)
    l_VGG/i,j = 1/(W_ij H_ij) sum (phi_ij(I_HR) - phi_ij(G(I_LR)))^2       (eq. 5: content in a network's features)
    l_Gen     = sum -log D(G(I_LR))                                        (eq. 6: the non-saturating adversarial loss)

Deviations: no VGG weights exist offline, so phi is the first two convolutional blocks of the shipped
Fashion-MNIST classifier (its 64 feature maps of 8x8, where VGG54's are the 4th convolution before the 5th
pooling); and l_X keeps a pixel term beside the feature term (lambda_pixel), since a 2-block feature map of a
small classifier pins the image down less than VGG's deep features.
"""

from __future__ import annotations

import torch
from torch import nn

from ..gan import losses as L


def pixel_mse(hr: torch.Tensor, sr: torch.Tensor) -> torch.Tensor:
    """l_MSE (eq. 4): the mean squared error over pixels; alone it gives SRResNet, sharp in PSNR, smooth to the eye."""
    return (hr - sr).pow(2).mean()


def feature_mse(phi: nn.Module, hr: torch.Tensor, sr: torch.Tensor) -> torch.Tensor:
    """l_VGG/i,j (eq. 5) with phi the frozen classifier's feature maps: the mean squared error between them.
    Deviation: averaged over the feature maps' channels too (eq. 5 sums them), a constant factor (1/64) that
    lambda_content takes up."""
    with torch.no_grad():
        target = phi(hr)
    return (target - phi(sr)).pow(2).mean()


def d_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """D's side: maximise log D(I_HR) + log(1 - D(G(I_LR))) (eq. 2), on logits."""
    return L.d_loss_bce(d_real, d_fake)


def g_loss(d_fake: torch.Tensor, content: torch.Tensor, lambda_adv: float) -> torch.Tensor:
    """l_SR = l_X + lambda_adv l_Gen (eq. 3, lambda_adv = 1e-3 in the paper), l_Gen = -log D(G(I_LR)) (eq. 6)."""
    return content + lambda_adv * L.g_loss_non_saturating(d_fake)
