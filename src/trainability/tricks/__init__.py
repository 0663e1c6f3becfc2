"""The trick axis: remedies against vanishing/exploding gradients and overfitting.

A member's `trick` is a '+'-joined list of specs, e.g. "batchnorm+residual+clip_norm:1" or
"adam+l2:0.0001"; "none" is the paper's plain SGD network.
"""
