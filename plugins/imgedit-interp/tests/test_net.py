"""Network building blocks: exact backward warping and the correlation volume."""
import torch

from imgedit_interp.net import InterpNet, backwarp, flow_grid_size, local_corr, to_flow_grid


def test_backwarp_exact_on_integer_shift():
    g = torch.Generator().manual_seed(0)
    img = torch.rand(1, 3, 20, 24, generator=g)
    dx, dy = 3, -2
    flow = torch.zeros(1, 2, 20, 24)
    flow[:, 0], flow[:, 1] = dx, dy
    out = backwarp(img, flow)
    # out(y, x) = img(y + dy, x + dx) wherever that source pixel exists (float32 rounding of the
    # normalised grid only: a sub-pixel error would show as ~1e-1 differences)
    torch.testing.assert_close(out[..., 2:, :24 - dx], img[..., :18, dx:], atol=2e-6, rtol=0)
    # outside the image the border pixel repeats
    torch.testing.assert_close(out[..., :2, :24 - dx], img[..., :1, dx:].expand(1, 3, 2, 24 - dx), atol=2e-6, rtol=0)
    torch.testing.assert_close(backwarp(img, torch.zeros(1, 2, 20, 24)), img, atol=2e-6, rtol=0)


def test_local_corr_peaks_at_the_displacement():
    g = torch.Generator().manual_seed(1)
    f1 = torch.randn(1, 8, 12, 12, generator=g)
    f2 = torch.roll(f1, shifts=(1, -2), dims=(2, 3))  # f2(y, x) = f1(y - 1, x + 2)
    corr = local_corr(f1, f2, r=3)
    assert corr.shape == (1, 49, 12, 12)
    # f1(y, x) matches f2(y + 1, x - 2): displacement (dy, dx) = (1, -2) -> window index (4, 1)
    peak = corr[0, :, 4:8, 4:8].mean((1, 2)).argmax().item()
    assert divmod(peak, 7) == (3 + 1, 3 - 2)


def test_flow_grid_is_multiple_of_8_and_scaled():
    assert flow_grid_size(480, 854) == (480, 856)
    assert flow_grid_size(2160, 3840, 0.5) == (1080, 1920)
    x = torch.rand(1, 3, 50, 70)
    assert to_flow_grid(x).shape[-2:] == (56, 72)


def test_forward_shapes_any_size_and_t():
    net = InterpNet().eval()
    a, b = torch.rand(2, 3, 37, 51), torch.rand(2, 3, 37, 51)
    with torch.no_grad():
        out, flows = net(a, b, torch.tensor([0.25, 0.5]), iters=3, scale=0.5)
    assert out.shape == a.shape and len(flows) == 3 and torch.isfinite(out).all()
