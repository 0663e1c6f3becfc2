"""Networks: activation and initializer registries, and the bundled deep MLP."""

from trainability.nets.activations import ACTIVATIONS, Activation
from trainability.nets.initializers import INITIALIZERS, Initializer

__all__ = ["ACTIVATIONS", "INITIALIZERS", "Activation", "Initializer"]
