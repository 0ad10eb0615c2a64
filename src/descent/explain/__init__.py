"""See every derivative: gradient descent on functions, the chain rule and per-layer deltas,
linear collapse, computation graphs, training diagnostics and plots; for pictures, saliency,
SmoothGrad, integrated gradients, Grad-CAM, feature maps, filters and the chain rule for one
convolution weight.

`descent.minimize` is `descent.explain.minimize`.
"""

from descent.explain import minimize
from descent.explain.attributions import (
    IntegratedGradients,
    input_gradient,
    integrated_gradients,
    saliency,
    smoothgrad,
)
from descent.explain.chain import ChainRule, Factor, chain_rule, resolve_parameter
from descent.explain.collapse import (
    CollapseDemo,
    best_linear_fit,
    collapse_linear,
    linear_collapse_demo,
)
from descent.explain.convolution import (
    ConvWeightChain,
    GradCam,
    conv_chain_text,
    conv_weight_chain,
    feature_maps,
    first_filters,
    grad_cam,
    layer_chain,
)
from descent.explain.deltas import (
    Deltas,
    DenseLayer,
    TwoNodeExplanation,
    activation_derivative,
    activation_vjp,
    backprop_deltas,
    dense_layers,
    engine_gradients,
    explain_two_node,
    loss_gradient,
    two_node_network,
)
from descent.explain.descent_plots import plot_descent
from descent.explain.diagnostics import Diagnostics, learning_notes, saturated_fraction
from descent.explain.formula import Formula, parse_formula
from descent.explain.graph import GraphvizNotFoundError, graph_nodes, to_dot, to_svg
from descent.explain.minimize import (
    Comparison,
    MinimizeResult,
    compare,
    format_table,
    gradient_descent,
    grid_search,
    newton,
)
from descent.explain.picture_plots import (
    plot_explanation,
    plot_feature_maps,
    plot_filters,
    plot_misclassified,
)
from descent.explain.tables import (
    chain_text,
    deltas_text,
    print_chain,
    print_two_node,
    render_chain,
    render_deltas,
    render_two_node,
    two_node_text,
)
from descent.explain.training_plots import (
    plot_decision_boundary,
    plot_gradient_norms,
    plot_loss,
    plot_predicted_vs_actual,
    save_figure,
)

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
