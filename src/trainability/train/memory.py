"""How much memory a bundle's parameters take, checked before anything is allocated.

A bundle too large for its device would otherwise fail deep inside torch's allocator with a
long traceback, after the data was loaded (or, with an absurd width, thrash the machine).
`check_fits` compares a lower bound of what training needs with the memory the device has
free, and says in one line what to reduce. The same parameter count serves the workflow's
memory requests (trainability.pipeline.resources).
"""

from __future__ import annotations

from trainability.train.config import BundleConfig

GIB = 2**30
#: Copies of the parameters that training holds at least: the weights, the CPU copy they
#: are drawn in (plain SGD); plus gradients and optimizer state on the trick path.
MIN_COPIES_PLAIN = 2
MIN_COPIES_TRICKS = 4


class BundleTooLargeError(ValueError):
    """The bundle cannot fit in the device's memory; the message says what to reduce."""


def parameters_per_member(n_inputs: int, n_classes: int, depth: int, width: int,
                          pieces: int = 1) -> int:
    """Weights and biases of one member: n_inputs -> depth hidden layers of `width` units
    (maxout: `pieces` pre-activations each) -> n_classes."""
    fan_in = [n_inputs, *[width] * depth]
    fan_out = [width * pieces] * depth + [n_classes]
    return sum(a * b + b for a, b in zip(fan_in, fan_out, strict=True))


def needed_bytes(config: BundleConfig, n_inputs: int, n_classes: int) -> int:
    """A lower bound of the bytes that training `config` holds for its parameters."""
    from trainability.nets.activations import ACTIVATIONS

    pieces = ACTIVATIONS.build(config.members[0].activation).pieces
    copies = MIN_COPIES_TRICKS if config.needs_tricks() else MIN_COPIES_PLAIN
    per_member = parameters_per_member(n_inputs, n_classes, config.depth, config.width, pieces)
    return 4 * len(config.members) * per_member * copies


def available_bytes(device) -> int:
    """Memory free for this process on `device` (a torch.device): the GPU's free memory, or
    the host's available memory (psutil)."""
    if device.type == "cuda":
        import torch

        return torch.cuda.mem_get_info(device)[0]
    import psutil

    return psutil.virtual_memory().available


def check_fits(config: BundleConfig, n_inputs: int, n_classes: int, device) -> None:
    """BundleTooLargeError (one line) when the bundle's parameters alone exceed the free memory."""
    needed, free = needed_bytes(config, n_inputs, n_classes), available_bytes(device)
    if needed > free:
        k = len(config.members)
        raise BundleTooLargeError(
            f"the bundle needs at least {needed / GIB:,.1f} GiB for its parameters "
            f"({k} member{'s' if k != 1 else ''}, depth {config.depth}, width {config.width}) but "
            f"{device} has {free / GIB:.1f} GiB free; reduce the width, the depth or the "
            "number of members (split the bundle)")
