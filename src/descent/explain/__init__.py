"""See every derivative: gradient descent on functions, the chain rule and per-layer deltas,
linear collapse, computation graphs, training diagnostics and plots; for pictures, saliency,
SmoothGrad, integrated gradients, Grad-CAM, feature maps, filters and the chain rule for one
convolution weight.

`descent.minimize` is `descent.explain.minimize`.
"""

import importlib

# Each name is imported from its module on first use (`descent.explain.learning_notes`,
# `from descent.explain import plot_loss`), not all at once: training asks for its learning
# notes on every run and should not pay for importing the chain rule, Grad-CAM and the plots.
#: module in descent.explain -> the names taken from it.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "attributions": (
        "IntegratedGradients", "input_gradient", "integrated_gradients", "saliency", "smoothgrad",
    ),
    "chain": ("ChainRule", "Factor", "chain_rule", "resolve_parameter"),
    "collapse": ("CollapseDemo", "best_linear_fit", "collapse_linear", "linear_collapse_demo"),
    "convolution": (
        "ConvWeightChain", "GradCam", "conv_chain_text", "conv_weight_chain", "feature_maps",
        "first_filters", "grad_cam", "layer_chain",
    ),
    "deltas": (
        "Deltas", "DenseLayer", "TwoNodeExplanation", "activation_derivative", "activation_vjp",
        "backprop_deltas", "dense_layers", "engine_gradients", "explain_two_node",
        "loss_gradient", "two_node_network",
    ),
    "descent_plots": ("plot_descent",),
    "diagnostics": ("Diagnostics", "learning_notes", "saturated_fraction"),
    "formula": ("Formula", "parse_formula"),
    "graph": ("GraphvizNotFoundError", "graph_nodes", "to_dot", "to_svg"),
    "minimize": (
        "Comparison", "MinimizeResult", "compare", "format_table", "gradient_descent",
        "grid_search", "newton",
    ),
    "picture_plots": (
        "plot_explanation", "plot_feature_maps", "plot_filters", "plot_misclassified",
    ),
    "tables": (
        "chain_text", "deltas_text", "print_chain", "print_two_node", "render_chain",
        "render_deltas", "render_two_node", "two_node_text",
    ),
    "training_plots": (
        "plot_decision_boundary", "plot_gradient_norms", "plot_loss", "plot_predicted_vs_actual",
        "save_figure",
    ),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str) -> object:
    if name == "minimize":  # the module itself: `ds.minimize.gradient_descent(...)`
        return importlib.import_module("descent.explain.minimize")
    if name in _WHERE:
        value = getattr(importlib.import_module(f"descent.explain.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'descent.explain' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "ConvWeightChain", "GradCam", "IntegratedGradients", "conv_chain_text", "conv_weight_chain",
    "feature_maps", "first_filters", "grad_cam", "input_gradient", "integrated_gradients",
    "layer_chain", "plot_explanation", "plot_feature_maps", "plot_filters", "plot_misclassified",
    "saliency", "smoothgrad",
    "ChainRule", "CollapseDemo", "Comparison", "DenseLayer", "Deltas", "Diagnostics", "Factor",
    "Formula", "GraphvizNotFoundError", "MinimizeResult", "TwoNodeExplanation",
    "activation_derivative", "activation_vjp", "backprop_deltas", "best_linear_fit", "chain_rule",
    "chain_text", "collapse_linear", "compare", "deltas_text", "dense_layers", "engine_gradients",
    "explain_two_node", "format_table", "gradient_descent", "graph_nodes", "grid_search",
    "linear_collapse_demo", "loss_gradient", "minimize", "newton", "parse_formula",
    "plot_decision_boundary", "plot_descent", "plot_gradient_norms", "plot_loss",
    "plot_predicted_vs_actual", "print_chain", "print_two_node", "render_chain", "render_deltas",
    "render_two_node", "resolve_parameter", "learning_notes", "saturated_fraction",
    "save_figure", "to_dot", "to_svg", "two_node_network", "two_node_text",
]
