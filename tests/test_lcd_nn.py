"""The LCD building blocks: losses against hand-computed values, views, encoder."""

import math

import pytest
import torch

from sklearn_ecg.nn.losses import byol_loss, decorrelation_loss, lcd_loss
from sklearn_ecg.nn.vgg1d import VGG1d
from sklearn_ecg.nn.views import random_resized_crop, time_out

LAMBD = 0.0051


def test_byol_loss_hand_values():
    q = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    z = torch.tensor([[3.0, 0.0], [2.0, 0.0]])
    # cos = 1 (loss 0) and cos = 1/sqrt(2) (loss 2 - sqrt(2)); mean over the batch.
    expected = (0.0 + (2.0 - math.sqrt(2.0))) / 2.0
    assert byol_loss(q, z).item() == pytest.approx(expected, rel=1e-6)
    assert byol_loss(q, -q).item() == pytest.approx(4.0, rel=1e-6)


def test_decorrelation_loss_hand_values():
    # h1 = [1, 2, 3] standardises to [-1, 0, 1]/sqrt(2/3); h2 = [1, 1, 4] to
    # [-1, -1, 2]/sqrt(2). Then C = [[1, c], [c, 1]] with c = 3 / (2 sqrt 3),
    # so L = 0 + lambda * 2 c^2 = 1.5 lambda.
    h1 = torch.tensor([[1.0], [2.0], [3.0]])
    h2 = torch.tensor([[1.0], [1.0], [4.0]])
    assert decorrelation_loss(h1, h2, lambd=LAMBD).item() == pytest.approx(1.5 * LAMBD, rel=1e-3)
    # Perfectly (anti-)correlated leads: off-diagonal entries of +-1.
    a = torch.tensor([[1.0], [-1.0]])
    assert decorrelation_loss(a, -a, lambd=LAMBD).item() == pytest.approx(2 * LAMBD, rel=1e-3)
    # Single input: two identical feature columns.
    assert decorrelation_loss(torch.cat([a, a], 1), lambd=1.0).item() == pytest.approx(2.0, rel=1e-3)


def test_decorrelation_divides_by_actual_batch_size():
    # The same rows repeated give the same correlation matrix only when C is
    # divided by the number of rows present (the reference's partial-batch quirk).
    torch.manual_seed(0)
    h1, h2 = torch.randn(8, 4), torch.randn(8, 4)
    once = decorrelation_loss(h1, h2)
    twice = decorrelation_loss(h1.repeat(2, 1), h2.repeat(2, 1))
    assert once.item() == pytest.approx(twice.item(), rel=1e-4)


def test_lcd_loss_combines_terms():
    torch.manual_seed(0)
    q1, q2, z3, h1, h2 = (torch.randn(6, 5) for _ in range(5))
    loss, terms = lcd_loss(q1, z3, h1, q2, h2, gamma=0.5, lambd=LAMBD)
    expected = byol_loss(q1, z3) + byol_loss(q2, z3) + 0.5 * decorrelation_loss(h1, h2, lambd=LAMBD)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert set(terms) == {"intra", "inter", "decorrelation"}
    single, single_terms = lcd_loss(q1, z3, h1, gamma=0.5, lambd=LAMBD)
    assert single_terms["inter"].item() == 0.0
    assert single.item() == pytest.approx(
        (byol_loss(q1, z3) + 0.5 * decorrelation_loss(h1, lambd=LAMBD)).item(), rel=1e-6
    )


def test_random_resized_crop_full_scale_is_identity():
    x = torch.randn(4, 3, 50)
    assert torch.allclose(random_resized_crop(x, scale=(1.0, 1.0)), x, atol=1e-5)


def test_views_share_crop_and_mask_across_leads():
    torch.manual_seed(0)
    lead = torch.randn(8, 1, 200)
    x = torch.cat([lead, 2 * lead, -lead], dim=1)
    v = time_out(random_resized_crop(x))
    assert v.shape == x.shape
    assert torch.allclose(v[:, 1], 2 * v[:, 0], atol=1e-5)
    assert torch.allclose(v[:, 2], -v[:, 0], atol=1e-5)


def test_crop_keeps_a_contiguous_span_of_the_requested_size():
    torch.manual_seed(0)
    ramp = torch.arange(1000.0).expand(16, 1, 1000).contiguous()
    v = random_resized_crop(ramp, scale=(0.5, 0.5))
    span = v[:, 0, -1] - v[:, 0, 0]
    # 500 samples kept: the stretched ramp runs from its start to start + 499.
    assert torch.allclose(span, torch.full_like(span, 499.0), atol=1e-3)
    assert (v[:, 0, 1:] >= v[:, 0, :-1]).all()
    assert (v[:, 0, 0] >= 0).all() and (v[:, 0, -1] <= 999).all()
    assert v[:, 0, 0].unique().numel() > 1  # random start per record


def test_time_out_zeroes_one_span_of_the_requested_size():
    torch.manual_seed(0)
    x = torch.ones(16, 2, 100)
    v = time_out(x, ratio=(0.3, 0.3))
    zeros = (v[:, 0] == 0)
    assert (zeros.sum(dim=1) == 30).all()
    # Contiguous: exactly one run of zeros per record.
    starts = (zeros[:, 1:] & ~zeros[:, :-1]).sum(dim=1) + zeros[:, 0].long()
    assert (starts == 1).all()
    assert torch.equal(v[:, 0], v[:, 1])


def test_vgg1d_shape_and_reference_size():
    enc = VGG1d(width=0.125)
    assert enc.out_features == 64
    assert sum(p.numel() for p in enc.parameters()) == 78216  # the reference's ~78k
    assert enc(torch.randn(3, 1, 1000)).shape == (3, 64)
    # Shorter than 32 samples: still defined (the time axis stops halving at 1).
    assert enc.eval()(torch.randn(2, 1, 5)).shape == (2, 64)
