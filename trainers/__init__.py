"""From-scratch trainers for the generative-models playground.

`python -m trainers train|sample|translate|evaluate ...` is the command-line entry point
(see `trainers/__main__.py`); each family lives in its own sub-package and shares
`trainers/core/` (data, checkpoints, the training loop, metrics).
"""

__version__ = "0.1.0"
