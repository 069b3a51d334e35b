"""imgedit's own built-in plugin passes the same contract suite as any third-party plugin."""
from imgedit.testing import PluginContract


class TestClassicPlugin(PluginContract):
    plugin = "classic"
    example_options = {"classic.resize": {"scale": "0.5"}, "classic.blend": {"factor": "4"},
                       "classic.colorgrid": {"residual": "false"}}


def test_flow_service_by_task_recovers_a_shift():
    import pytest
    import torch
    import torch.nn.functional as F

    import imgedit
    from imgedit.errors import CapabilityError, ModelNotFoundError

    m = imgedit.load_model(task="flow")  # the best installed flow model; here the built-in DIS
    assert m.name == "classic.flow"
    g = torch.Generator().manual_seed(0)
    a = F.interpolate(torch.rand(2, 3, 12, 16, generator=g), size=(72, 96), mode="bicubic",
                      align_corners=False).clamp(0, 1)
    b = torch.roll(a, shifts=(2, -3), dims=(2, 3))  # b(p + (-3, 2)) = a(p)
    f = m.flow(a, b)
    assert f.shape == (2, 2, 72, 96) and f.dtype == torch.float32
    inner = f[:, :, 12:-12, 12:-12].flatten(2).median(-1).values
    assert torch.allclose(inner, torch.tensor([[-3.0, 2.0]] * 2), atol=0.3), inner
    with pytest.raises(CapabilityError):
        imgedit.load_model("classic.adjust").flow(a, b)
    with pytest.raises(ModelNotFoundError):
        imgedit.load_model(task="no-such-task")
