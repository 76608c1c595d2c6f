"""Projection and prediction heads."""

from torch import nn


def mlp_head(in_features, hidden_features, out_features):
    """``Linear → BatchNorm1d → ReLU → Linear``: BYOL's projector and predictor."""
    return nn.Sequential(
        nn.Linear(in_features, hidden_features),
        nn.BatchNorm1d(hidden_features),
        nn.ReLU(inplace=True),
        nn.Linear(hidden_features, out_features),
    )
