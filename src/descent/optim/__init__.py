"""Update rules and learning-rate schedules: pure NumPy, small, checked against PyTorch.

    opt = Adam(model.parameters(), lr=1e-3)
    sched = CosineAnnealingLR(opt, T_max=epochs)
    for epoch in range(epochs):
        for batch in batches:
            ...backward...
            opt.step()
            opt.zero_grad()
        sched.step()
"""

from descent.optim.optimizers import (
    OPTIMIZERS,
    SGD,
    Adam,
    AdamW,
    Momentum,
    Nesterov,
    Optimizer,
    ParameterLike,
    RMSProp,
    get_optimizer,
)
from descent.optim.schedules import (
    SCHEDULES,
    CosineAnnealingLR,
    ExponentialLR,
    InverseTimeLR,
    ReduceLROnPlateau,
    Schedule,
    StepLR,
    get_schedule,
)

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "SGD",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "ExponentialLR",
    "InverseTimeLR",
    "Momentum",
    "Nesterov",
    "Optimizer",
    "ParameterLike",
    "RMSProp",
    "ReduceLROnPlateau",
    "Schedule",
    "StepLR",
    "get_optimizer",
    "get_schedule",
]
