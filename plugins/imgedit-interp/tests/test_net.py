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


def test_intermediate_flows_follow_constant_acceleration():
    """Uniform motion x(t) = v t + a t²/2 (frames at t = -1, 0, 1, 2): the quadratic intermediate
    flows are exact, the straight ones are off by t(1-t)/2 * a."""
    from imgedit_interp.net import acceleration, intermediate_flows

    v, a = torch.tensor([4.0, -2.0]), torch.tensor([2.0, 1.0])
    x = lambda t: v * t + a * t * t / 2  # noqa: E731
    field = lambda vec: vec.view(1, 2, 1, 1).expand(1, 2, 3, 5).clone()  # noqa: E731
    f01, f10 = field(x(1) - x(0)), field(x(0) - x(1))
    f0p, f1n = field(x(-1) - x(0)), field(x(2) - x(1))
    acc = acceleration(f01, f10, f0p, f1n)
    assert torch.allclose(acc, torch.cat((field(a), field(a)), 1))
    for t in (0.25, 0.5, 0.7):
        ft0, ft1 = intermediate_flows(f01, f10, t, acc)
        assert torch.allclose(ft0, field(x(0) - x(t)), atol=1e-5)
        assert torch.allclose(ft1, field(x(1) - x(t)), atol=1e-5)
        lin0, _ = intermediate_flows(f01, f10, t)
        assert torch.allclose(ft0 - lin0, field(t * (1 - t) / 2 * a), atol=1e-5)
    assert acceleration(f01, f10, None, None) is None
    one = acceleration(f01, f10, f0p, None)
    assert torch.equal(one[:, 2:], torch.zeros_like(f10)) and torch.allclose(one[:, :2], field(a))


def test_acceleration_is_capped_by_the_pair_motion():
    from imgedit_interp.net import ACC_LIMIT, acceleration

    f01 = torch.zeros(1, 2, 2, 2)
    f01[:, 0] = 3.0  # |F01| = 3 px
    wild = torch.zeros(1, 2, 2, 2)
    wild[:, 1] = 50.0  # a neighbour flow that failed: |A0| would be ~50 px
    acc = acceleration(f01, -f01, wild, None)
    assert torch.allclose(acc[:, :2].norm(dim=1), torch.full((1, 2, 2), ACC_LIMIT * 4.0))
