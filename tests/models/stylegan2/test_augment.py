"""ADA: transforms are differentiable and p follows the overfitting heuristic."""

from __future__ import annotations

import torch

from adgen.models.stylegan2.augment import AdaController, AugmentPipe, translate_integer


def test_with_p_zero_images_pass_through_untouched():
    x = torch.randn(4, 3, 16, 8)
    assert torch.equal(AugmentPipe(0.0)(x), x)


def test_with_p_one_every_image_changes_and_gradients_reach_the_generator():
    torch.manual_seed(0)
    x = torch.randn(4, 3, 16, 8, requires_grad=True)
    y = AugmentPipe(1.0)(x)
    assert y.shape == x.shape
    assert all(not torch.allclose(y[i], x[i]) for i in range(4))
    y.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_integer_translation_shifts_pixels_exactly():
    x = torch.arange(2 * 1 * 6 * 5, dtype=torch.float32).view(2, 1, 6, 5)
    out = translate_integer(x, torch.tensor([1, 0]), torch.tensor([0, -2]))
    assert torch.equal(out[0, 0, :, 1:], x[0, 0, :, :-1])  # right by one
    assert torch.equal(out[1, 0, :-2, :], x[1, 0, 2:, :])  # up by two


def test_ada_raises_p_when_d_is_sure_of_the_reals_and_lowers_it_otherwise():
    pipe = AugmentPipe(0.0)
    ada = AdaController(pipe, target=0.6, interval=2, kimg=0.01, batch=4)  # big steps for the test
    for step in range(4):
        ada.accumulate(torch.ones(4, 1))  # D says "real" to every real: overfitting
        ada.maybe_adjust(step)
    high = float(pipe.p)
    assert high > 0 and ada.rt == 1.0
    for step in range(4, 6):
        ada.accumulate(-torch.ones(4, 1))
        ada.maybe_adjust(step)
    assert float(pipe.p) < high
