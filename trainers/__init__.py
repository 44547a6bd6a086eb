"""From-scratch trainers for the generative-models playground.

`python -m trainers train|sample|translate|evaluate ...` is the command-line entry point
(see `trainers/__main__.py`); each family lives in its own sub-package and shares
`trainers/core/` (data, checkpoints, the training loop, metrics).
"""

__version__ = "0.1.0"


def fit(family: str, options: dict[str, str], command: str | None = None):
    """Train the family named `family` (as on the command line: gan, ddpm, ...) with `--key=value` options;
    returns the checkpoint folder. The registry maps the name; the loop itself knows no family."""
    from .core.loop import fit as run
    from .families import canonical, get_family

    return run(get_family(family), canonical(family), options, command)
