"""imgedit's built-in ``classic`` plugin: colour, resize, sharpen, deflicker, frame blending, a
colour-layout codec and OpenCV DIS optical flow (the default ``flow`` service for other models). Classic image processing (no learned weights) that runs through exactly the
same entry-point path as every other plugin; tests and ``make demo`` use it, and it gives the
baselines the learned plugins are measured against (frame blending for interpolation).

This module is the registration module: it imports no torch. The models live in
:mod:`imgedit.builtin.models`.
"""
from __future__ import annotations

from imgedit.api import Capability, ModelSpec, Option, hookimpl, latent_options

_M = "imgedit.builtin.models:"


@hookimpl
def imgedit_register_models(register) -> None:
    register(ModelSpec(
        name="classic.adjust", summary="Brightness, contrast, saturation and gamma.",
        factory=_M + "Adjust", capabilities=(Capability.EDIT,), licence="MIT", precisions=("fp32",),
        options=(
            Option("brightness", "float", 0.0, "added to every channel", min=-1, max=1),
            Option("contrast", "float", 1.0, "scale around mid-grey (1 = unchanged)", min=0, max=4),
            Option("saturation", "float", 1.0, "0 = grey, 1 = unchanged, 2 = vivid", min=0, max=4),
            Option("gamma", "float", 1.0, "output = input ** (1/gamma)", min=0.1, max=10),
        )))
    register(ModelSpec(
        name="classic.resize", summary="High-quality (antialiased bicubic) resize.",
        factory=_M + "Resize", capabilities=(Capability.EDIT,), licence="MIT", precisions=("fp32",),
        options=(
            Option("scale", "float", None, "scale factor (ignored when width/height are given)", min=0.01, max=16),
            Option("width", "int", None, "target width in pixels", min=1, max=65535),
            Option("height", "int", None, "target height in pixels", min=1, max=65535),
            Option("fit", "choice", "contain", "with width and height: keep aspect inside the box "
                   "(contain) or stretch to it", choices=("contain", "stretch")),
        )))
    register(ModelSpec(
        name="classic.sharpen", summary="Unsharp-mask sharpening (negative amount softens).",
        factory=_M + "Sharpen", capabilities=(Capability.EDIT,), licence="MIT", precisions=("fp32",),
        options=(
            Option("amount", "float", 0.8, "strength; negative values blur", min=-1, max=5),
            Option("radius", "float", 1.5, "Gaussian sigma in pixels", min=0.3, max=20),
        )))
    register(ModelSpec(
        name="classic.deflicker", summary="Remove brightness/colour flicker from videos (stateful).",
        factory=_M + "Deflicker", capabilities=(Capability.EDIT_SEQUENCE,), licence="MIT",
        precisions=("fp32",),
        options=(Option("window", "int", 8, "frames of memory (longer = steadier)", min=1, max=240),)))
    register(ModelSpec(
        name="classic.blend", summary="Frame-rate conversion by blending neighbour frames (baseline).",
        factory=_M + "Blend", capabilities=(Capability.EDIT_SEQUENCE,), licence="MIT",
        precisions=("fp32",), sequence_output="rate",
        options=(
            Option("factor", "int", 2, "multiply the frame rate by this", min=1, max=16),
            Option("fps", "float", None, "target frame rate (overrides factor)", min=1, max=1000),
        )))
    register(ModelSpec(
        name="classic.colorgrid", summary="Colour-layout codec: 8x8 colour grid latent <-> smooth image.",
        factory=_M + "ColorGrid", capabilities=(Capability.ENCODE, Capability.GENERATE, Capability.EDIT),
        licence="MIT", precisions=("fp32",), latent_shape=(3, 8, 8),
        options=(Option("size", "int", 256, "generated image size (square)", min=8, max=4096), *latent_options())))
    register(ModelSpec(
        name="classic.flow", summary="Dense optical flow with OpenCV DIS (a service other models use).",
        factory=_M + "DisFlow", capabilities=(Capability.FLOW,), licence="MIT (OpenCV: Apache-2.0)",
        precisions=("fp32",), tasks={"flow": 10},
        options=(Option("preset", "choice", "medium", "DIS speed/quality preset",
                        choices=("ultrafast", "fast", "medium")),)))
