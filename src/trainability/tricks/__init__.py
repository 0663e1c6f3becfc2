"""The trick axis: remedies against vanishing/exploding gradients and overfitting.

A member's `trick` is a '+'-joined list of specs, e.g. "batchnorm+residual+clip_norm:1" or
"adam+l2:0.0001"; "none" is the paper's plain SGD network.

    base.py     what a trick is: `Trick` (its spec, rules and metadata) and `TrickHooks`
                (what it does inside a bundle); the registry TRICKS
    units/      one file per trick (batch norm, skips, clipping, dropout, penalties,
                optimizers, early stopping, DAE pretraining)
    spec.py     parse, spell and check trick strings (TrickSet, parse_trick, canonical);
                no torch, so planning uses it
    hooks.py    BundleTricks: the hooks of one bundle's tricks, called in order
    net.py      TrickMLP: the bundle's forward pass, which calls the hooks
    step.py     TrickStepper: one update (autograd, penalties, clipping, optimizer)
    optim.py    per-member torch.optim rules on stacked parameters
"""
