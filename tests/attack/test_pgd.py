"""L2 PGD: constraints, optimality on a linear model, torchattacks equality, uniform random start."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from semtool.attack import TARGETS, pgd_l2, random_start, severity
from semtool.models import build_classifier


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = build_classifier("convnet", 5, in_channels=3, input_size=(8, 8))
    m.train()  # the attack must switch to eval mode itself
    return m


@pytest.fixture(scope="module")
def batch():
    g = torch.Generator().manual_seed(0)
    return torch.rand(12, 3, 8, 8, generator=g), torch.randint(0, 5, (12,), generator=g)


@pytest.mark.parametrize("eps", [0.1, 0.5, 2.0])
@pytest.mark.parametrize("rand", [False, True])
def test_perturbation_in_ball_and_pixels_in_range(model, batch, eps, rand):
    x, y = batch
    model.train()
    adv = pgd_l2(model, x, y, eps, steps=7, random_init=rand, generator=torch.Generator().manual_seed(1))
    norms = (adv - x).flatten(1).norm(dim=1)
    assert torch.all(norms <= eps + 1e-6)
    assert adv.min() >= 0 and adv.max() <= 1
    assert model.training  # the caller's mode is restored
    assert all(p.requires_grad for p in model.parameters())


def test_attack_runs_in_eval_mode(batch):
    torch.manual_seed(0)
    m = build_classifier("convnet", 5, in_channels=3, input_size=(8, 8))
    seen = []
    m.register_forward_pre_hook(lambda mod, inp: seen.append(mod.training))
    m.train()
    pgd_l2(m, batch[0], batch[1], 0.5, steps=2)
    assert seen and not any(seen)


def test_linear_model_reaches_the_analytic_worst_case():
    # two-class linear model z = W x + b: the CE of the true class grows with the margin
    # loss, so the worst case in the L2 ball is δ* = −ε (w_y − w_o)/‖w_y − w_o‖ (pixels
    # stay inside [0, 1] here, so the clamp never binds).
    torch.manual_seed(0)
    d = 3 * 4 * 4
    lin = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(d, 2))
    x = 0.5 + 0.01 * torch.rand(16, 3, 4, 4)
    y = torch.randint(0, 2, (16,))
    eps = 0.2
    w = lin[1].weight.detach()
    diff = (w[y] - w[1 - y])
    best = x - eps * (diff / diff.norm(dim=1, keepdim=True)).view_as(x)
    ce = torch.nn.functional.cross_entropy
    adv = pgd_l2(lin, x, y, eps, steps=20)
    with torch.no_grad():
        got = ce(lin(adv), y, reduction="none")
        opt = ce(lin(best), y, reduction="none")
    assert torch.all(got >= opt - 1e-4)
    torch.testing.assert_close(got, opt, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("eps", [0.25, 1.0])
def test_equals_torchattacks_pgdl2(model, batch, eps):
    torchattacks = pytest.importorskip("torchattacks")
    x, y = batch
    model.eval()
    steps, alpha = 10, 2.5 * eps / 10
    ref = torchattacks.PGDL2(model, eps=eps, alpha=alpha, steps=steps, random_start=False)(x, y)
    ours = pgd_l2(model, x, y, eps, steps=steps, step_size=alpha)
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-5)
    # and the default step size is 2.5 ε / steps
    torch.testing.assert_close(pgd_l2(model, x, y, eps, steps=steps), ours, rtol=0, atol=0)


def _attack_loss(model, adv, goal, sign):
    with torch.no_grad():
        return sign * torch.nn.functional.cross_entropy(model(adv), goal, reduction="none")


@pytest.mark.parametrize("targeted", [False, True])
def test_use_best_returns_the_highest_loss_iterate_per_sample(model, batch, targeted):
    # The robustness library's use_best (attacker.py, replace_best): the start and every
    # iterate are candidates, a later one replaces the best only if its loss is strictly
    # higher. Restated as a plain loop over the iterates k = 0..steps, each made by running
    # the same attack for k steps (same trajectory: no random start). A step size far above
    # ε's scale makes the iterates overshoot, so the best is often not the last.
    x, y = batch
    model.eval()
    eps, alpha, steps = 2.0, 1.5, 6
    tgt = (y + 1) % 5 if targeted else None
    goal, sign = (tgt, -1.0) if targeted else (y, 1.0)
    iterates = [pgd_l2(model, x, y, eps, steps=k, step_size=alpha, targets=tgt) for k in range(steps + 1)]
    losses = torch.stack([_attack_loss(model, it, goal, sign) for it in iterates])  # (steps + 1, N)
    pick = losses.argmax(0)  # first maximum: ties keep the earlier iterate
    expected = torch.stack([iterates[int(k)][n] for n, k in enumerate(pick)])
    best = pgd_l2(model, x, y, eps, steps=steps, step_size=alpha, targets=tgt, use_best=True)
    torch.testing.assert_close(best, expected, rtol=0, atol=0)
    last = pgd_l2(model, x, y, eps, steps=steps, step_size=alpha, targets=tgt)
    torch.testing.assert_close(last, iterates[-1], rtol=0, atol=0)
    gain = _attack_loss(model, best, goal, sign) - _attack_loss(model, last, goal, sign)
    assert torch.all(gain >= 0)  # per sample, never worse than the last iterate
    assert (gain > 1e-3).sum() >= 2  # and here strictly better for several samples
    assert torch.all((best - x).flatten(1).norm(dim=1) <= eps + 1e-6)


@pytest.mark.parametrize("shape", [(1, 1, 2), (3, 2, 2)])
def test_random_start_is_uniform_in_the_ball(shape):
    # uniform in the d-ball: P(r ≤ ρ) = (ρ/ε)^d, so (r/ε)^d is U(0, 1); away from the box
    # edges the clamp does nothing
    d = int(np.prod(shape))
    eps = 0.05
    x = torch.full((4000, *shape), 0.5)
    r = (random_start(x, eps, torch.Generator().manual_seed(3)) - x).flatten(1).double().norm(dim=1)
    u = (r / eps).pow(d).numpy()
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    # the directions are isotropic: the mean direction is near 0
    dirs = (random_start(x, eps, torch.Generator().manual_seed(4)) - x).flatten(1)
    dirs = dirs / dirs.norm(dim=1, keepdim=True)
    assert dirs.mean(0).abs().max() < 0.1


def test_targeted_attack_moves_toward_the_target(model, batch):
    x, y = batch
    model.eval()
    with torch.no_grad():
        clean = model(x)
    tgt = TARGETS["next"](y, clean, None)
    adv = pgd_l2(model, x, y, 2.0, steps=10, targets=tgt)
    with torch.no_grad():
        p0 = clean.softmax(1)[torch.arange(len(y)), tgt]
        p1 = model(adv).softmax(1)[torch.arange(len(y)), tgt]
    assert torch.all(p1 >= p0 - 1e-6) and (p1 > p0).float().mean() > 0.9
    assert torch.all(TARGETS["random"](y, clean, torch.Generator().manual_seed(0)) != y)
    torch.testing.assert_close(TARGETS["least-likely"](y, clean, None), clean.argmin(1))


def test_severity_against_a_plain_loop():
    rng = np.random.default_rng(0)
    groups = np.array([0, 0, 1, 1, 2, -1])
    visual = np.array([0, 1, 0, 1, 0, 1])
    labels = rng.integers(0, 6, 300)
    preds = np.where(rng.random(300) < 0.4, labels, rng.integers(0, 6, 300))
    s = severity(labels, preds, groups=groups, visual_groups=visual)
    acc = np.mean(labels == preds)
    keep = [i for i in range(300) if groups[labels[i]] >= 0]
    sup = np.mean([groups[labels[i]] == groups[preds[i]] for i in keep])
    wrong = [i for i in keep if labels[i] != preds[i]]
    msup = np.mean([groups[labels[i]] == groups[preds[i]] for i in wrong])
    wrong_v = [i for i in range(300) if labels[i] != preds[i]]
    vis = np.mean([visual[labels[i]] == visual[preds[i]] for i in wrong_v])
    assert s["accuracy"] == pytest.approx(acc)
    assert s["superclass_accuracy"] == pytest.approx(sup)
    assert s["mistake_superclass_accuracy"] == pytest.approx(msup)
    assert s["mistake_visual_share"] == pytest.approx(vis)
