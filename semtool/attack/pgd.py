"""L2 projected gradient descent (Madry et al. 2018), batched, in [0, 1] pixel space.

For each sample, with x the clean image and δ the perturbation:

    g      = ∇ₓ L(f(x + δ), y)                 (L: cross-entropy; targeted: −L on the target)
    x'     = x + δ + α · g / (‖g‖₂ + 1e-10)
    δ      = (x' − x) · min(1, ε / ‖x' − x‖₂)  (projection onto the ε-ball)
    x + δ  ← clamp(x + δ, 0, 1)

repeated ``steps`` times; defaults as the robustness library evaluates CIFAR: 20 steps,
α = 2.5·ε / steps, no random start. What is returned: the last iterate (as torchattacks'
``PGDL2``), or with ``use_best`` each sample's iterate of highest loss among the start and
every iterate (the robustness library's ``use_best=True``, its default; a later iterate
replaces the best only when its loss is strictly higher). The optional random start is
uniform inside the L2 ball: a Gaussian direction with radius ε·U^{1/d} (d = pixels per
sample), then clamped. The model is put in eval mode for the attack (and back in its previous mode after).
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator

import torch
import torch.nn.functional as F

from semtool.errors import UserError

_DIV = 1e-10  # guards ‖g‖ = 0, as torchattacks does


@contextlib.contextmanager
def attack_mode(model: torch.nn.Module) -> Iterator[None]:
    """Eval mode for the duration; the previous mode is restored.

    Parameters keep ``requires_grad``: ``autograd.grad`` with respect to the images
    already skips the weight gradients, and freezing them measured slower on the CPU
    (a different convolution backward path).
    """
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def _norms(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1).norm(p=2, dim=1).view(-1, *([1] * (t.dim() - 1)))


def random_start(images: torch.Tensor, eps: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """A point drawn uniformly from the L2 ball of radius ``eps`` around each image, clamped.

    Direction: a standard Gaussian normalised to unit length; radius: ε·U^{1/d}, which
    makes the point uniform in the d-dimensional ball (P(r ≤ ρ) = (ρ/ε)^d).
    """
    n, d = images.shape[0], images[0].numel()
    z = torch.randn(images.shape, generator=generator, device="cpu", dtype=torch.float64)
    u = torch.rand(n, generator=generator, device="cpu", dtype=torch.float64)
    radius = eps * u.pow(1.0 / d)
    delta = z / _norms(z) * radius.view(-1, *([1] * (images.dim() - 1)))
    return (images + delta.to(images.device, images.dtype)).clamp(0.0, 1.0)


def pgd_l2(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, eps: float, *, steps: int = 20,
           step_size: float | None = None, random_init: bool = False, targets: torch.Tensor | None = None,
           generator: torch.Generator | None = None, use_best: bool = False) -> torch.Tensor:
    """Adversarial images (N, C, H, W) in [0, 1] with ‖x_adv − x‖₂ ≤ ε per sample.

    Parameters
    ----------
    model : maps [0, 1] images to logits (normalisation inside).
    images : (N, C, H, W) clean images in [0, 1]; labels : (N,) true classes.
    eps : L2 radius (0 returns the images unchanged).
    steps : gradient steps; step_size : α (default 2.5·ε/steps).
    random_init : start from a uniform point in the ball instead of x.
    targets : (N,) target classes for a targeted attack (descend the loss of the target).
    use_best : return per sample the point of highest attack loss (−CE of the target when
        targeted) among the start and the ``steps`` iterates (the robustness library's
        default) instead of the last iterate (torchattacks'). Costs one more forward pass.
    """
    if eps < 0:
        raise UserError(f"--eps: expected non-negative radii, got {eps:g}")
    x = images.detach()
    if eps == 0 or steps == 0:
        return x.clone()
    alpha = 2.5 * eps / steps if step_size is None else float(step_size)
    sign = 1.0
    goal = labels
    if targets is not None:
        sign, goal = -1.0, targets
    with attack_mode(model), torch.enable_grad():
        adv = random_start(x, eps, generator) if random_init else x.clone()
        best = _Best(sign, goal) if use_best else None
        for _ in range(steps):
            adv.requires_grad_(True)
            logits = model(adv)
            # the batch-mean loss, as torchattacks: the per-sample normalisation below
            # removes the 1/N, and results agree with the reference to float rounding
            loss = sign * F.cross_entropy(logits, goal)
            (grad,) = torch.autograd.grad(loss, adv)
            with torch.no_grad():
                if best is not None:
                    best.update(adv, logits)
                grad = grad / (_norms(grad) + _DIV)
                delta = adv + alpha * grad - x
                factor = torch.clamp(eps / _norms(delta), max=1.0)
                adv = (x + delta * factor).clamp_(0.0, 1.0)
        if best is not None:
            with torch.no_grad():
                best.update(adv, model(adv))
            return best.x
    return adv.detach()


class _Best:
    """Per sample, the point of highest attack loss seen so far (the robustness library's
    ``replace_best``: strictly higher replaces, so ties keep the earlier point)."""

    def __init__(self, sign: float, goal: torch.Tensor):
        self.sign, self.goal = sign, goal
        self.x: torch.Tensor | None = None
        self.loss: torch.Tensor | None = None

    def update(self, points: torch.Tensor, logits: torch.Tensor) -> None:
        loss = self.sign * F.cross_entropy(logits.detach(), self.goal, reduction="none")
        if self.x is None:
            self.x, self.loss = points.detach().clone(), loss
            return
        better = loss > self.loss
        self.x[better] = points.detach()[better]
        self.loss = torch.where(better, loss, self.loss)


# ------------------------------------------------------------------ targeted attacks
def _target_random(labels: torch.Tensor, logits: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    c = logits.shape[1]
    shift = torch.randint(1, c, labels.shape, generator=generator).to(labels.device)
    return (labels + shift) % c


def _target_next(labels: torch.Tensor, logits: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return (labels + 1) % logits.shape[1]


def _target_least_likely(labels: torch.Tensor, logits: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return logits.argmin(1)


TARGETS: dict[str, Callable[[torch.Tensor, torch.Tensor, torch.Generator | None], torch.Tensor]] = {
    "random": _target_random,          # uniform among the other classes
    "next": _target_next,              # (y + 1) mod C
    "least-likely": _target_least_likely,  # the clean model's lowest logit
}
