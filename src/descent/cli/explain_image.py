"""`descent explain MODEL --image PICTURE`: what a picture network looked at, and the chain
rule for one convolution weight.

Writes one picture (the picture, its saliency and Grad-CAM over it, the class
probabilities), prints the integrated-gradients completeness check, and prints ∂C/∂w for
one weight of a convolution as the sum over positions of δ times the input pixel, beside
the engine's gradient. `descent explain` hands over here for picture models.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.console import Console

from descent.cli.outputs import check_outputs
from descent.explain.attributions import integrated_gradients, saliency
from descent.explain.convolution import conv_chain_text, conv_weight_chain, grad_cam, layer_chain
from descent.explain.picture_plots import plot_explanation
from descent.explain.training_plots import save_figure
from descent.nn import Conv2d
from descent.pictures.model import ImageModel


def _layer_number(param: str | None, model: ImageModel) -> int:
    """--param as a convolution number: conv1 / conv2 / ..., or a name such as 0.weight."""
    convs = [name for name, m in layer_chain(model.network) if isinstance(m, Conv2d)]
    if param is None:
        return 1
    text = param.strip().lower()
    if text.startswith("conv") and text[4:].isdigit() and 1 <= int(text[4:]) <= len(convs):
        return int(text[4:])
    if text.endswith(".weight") and text[:-7] in convs:
        return convs.index(text[:-7]) + 1
    names = ", ".join([f"conv{k + 1}" for k in range(len(convs))]
                      + [f"{n}.weight" for n in convs])
    raise ValueError(f"--param {param}: for a picture model name a convolution: {names}")


def _weight_index(index: str | None, model: ImageModel, layer: int) -> tuple[int, int, int, int]:
    conv = [m for _, m in layer_chain(model.network) if isinstance(m, Conv2d)][layer - 1]
    shape = tuple(conv.weight.shape)
    if index is None:  # the centre of the first filter: it sees the pixel under it
        return (0, 0, shape[2] // 2, shape[3] // 2)
    try:
        parts = tuple(int(v) for v in index.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4 or not all(0 <= v < n for v, n in zip(parts, shape, strict=True)):
        raise ValueError(f"--index for a convolution weight is out,in,row,column within "
                         f"{shape}, such as 0,0,2,2; got {index!r}")
    return parts  # type: ignore[return-value]


def explain_picture(model_path: Path, image: Path, *, out: Path | None, target: str | None,
                    param: str | None, index: str | None) -> None:
    """The body of `descent explain` for a picture model (inside the error boundary)."""
    console = Console(soft_wrap=True, highlight=False)
    model, _ = ImageModel.load(model_path)
    layer = _layer_number(param, model)
    where = _weight_index(index, model, layer)
    if target is not None and target not in model.classes:
        raise ValueError(f"--class {target!r} is not one of the model's classes: "
                         f"{', '.join(model.classes)}")
    out = out or Path(f"explain_{image.stem}.png")
    if out.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise ValueError(f"--out {out}: name a .png, .svg or .pdf file")
    check_outputs({"--out": out}, [model_path, image])
    picture = model.read(image)
    x = model.floats(picture[None])
    proba = model.probabilities(picture[None])[0]
    predicted = int(np.argmax(proba))
    c = predicted if target is None else model.classes.index(target)
    shares = ", ".join(f"{name} {p:.3f}" for name, p in zip(model.classes, proba, strict=True))
    console.print(f"{image}: the network says {model.classes[predicted]} ({shares})")

    sal = saliency(model.network, x, c)[0]
    cam = grad_cam(model.network, x, c)
    ig = integrated_gradients(model.network, x, c, steps=1024)
    console.print(f"explaining the score (logit) of {model.classes[c]}"
                  f"{' (the predicted class)' if c == predicted else ''}")
    console.print(ig.completeness(0), markup=False)
    rows, cols = np.unravel_index(np.argmax(sal), sal.shape)
    console.print(f"saliency: the most sensitive pixel is at row {rows}, column {cols}; "
                  f"Grad-CAM used layer {cam.layer} ({cam.cam.shape[1]}x{cam.cam.shape[2]} "
                  "positions, scaled up to the picture)")
    save_figure(plot_explanation(picture, sal, cam.heatmap[0], proba, model.classes, target=c,
                                 title=f"{image.name}: {model.classes[predicted]} "
                                       f"{proba[predicted]:.1%}"), out)
    console.print(f"wrote {out}")

    console.print()
    label = "the predicted class" if target is None else "--class"
    console.print(f"The chain rule for one convolution weight, with the cost C = cross-entropy "
                  f"against {model.classes[c]} ({label}):")
    chain = conv_weight_chain(model.network, x, c, where, layer=layer)
    console.print(conv_chain_text(chain), markup=False)
