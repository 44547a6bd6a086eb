"""User errors: checked numbers and choices, and a handler's UserError shown as one gr.Error line (logged as one
line, no stack trace)."""

from __future__ import annotations

import functools
import inspect
import logging
import math
import numbers

import numpy as np

from trainers.core.errors import UserError


log = logging.getLogger("playground")


def number(label: str, v, lo: float, hi: float, integer: bool = False):
    """A finite number in [lo, hi], or a UserError naming the control (API callers can send anything).
    With `integer`, a whole number, kept exact: a seed of 2^63 − 1 or 2^62 + 1 does not pass through a float."""
    x = _whole(v) if integer else _finite(v)
    if x is None or not lo <= x <= hi:
        bounds = f"[{_bound(lo)}, {_bound(hi)}]"
        if v is None or (isinstance(v, str) and not v.strip()):  # an emptied box: "got 'None'" named nothing typed
            raise UserError(f"{label} is empty: give a{' whole' if integer else ''} number in {bounds}")
        raise UserError(f"{label} must be a {'whole ' if integer else ''}number in {bounds}, got {str(v)[:40]!r}")
    return x


def _finite(v) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int too large for a float
        return None
    return x if v is not None and not isinstance(v, bool) and np.isfinite(x) else None


def _whole(v) -> int | None:
    """An int, an integer string ("+12", " 7 ") or a float with no fraction (12.0), as an exact int."""
    if isinstance(v, bool):
        return None
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, str) and v.strip().lstrip("+-").isdigit():
        return int(v)
    x = _finite(v)
    return int(x) if x is not None and x.is_integer() else None


def _bound(x: float) -> str:
    """A bound as a reader takes it in: 2^63 − 1, not 9223372036854775807 (a seed's upper bound)."""
    if abs(x) >= 2**31 and float(x + 1).is_integer() and math.log2(abs(x) + 1).is_integer():
        return f"2^{int(math.log2(abs(x) + 1))} − 1"
    return f"{x:g}" if isinstance(x, float) else str(x)


def choice(label: str, v, options) -> str:
    """One of the strings `options`, or a UserError naming the control and listing them (API callers can
    send anything, lists and numbers included)."""
    if not isinstance(v, str) or v not in options:
        raise UserError(f"{label} must be one of {', '.join(options)}, got {str(v)[:40]!r}")
    return v


def user_errors(fn):
    """Show a `UserError` as a gr.Error message; other exceptions reach Gradio, which hides internals.
    Generator handlers (streamed outputs) are wrapped as generators, so errors raised mid-run count too."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen_wrapper(*args, **kwargs):
            import gradio as gr

            try:
                yield from fn(*args, **kwargs)
            except UserError as e:
                raise _shown(gr, fn, e) from None

        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import gradio as gr

        try:
            return fn(*args, **kwargs)
        except UserError as e:
            raise _shown(gr, fn, e) from None

    return wrapper


def _shown(gr, fn, e: UserError):
    """The gr.Error the user sees; the server logs one line for it, not a stack trace (it is no bug)."""
    log.warning("user error in %s: %s", getattr(fn, "__name__", "handler"), e)
    return refusal(e)


def refusal(e, prefix: str = "", suffix: str = "", title: str | None = None):
    """The gr.Error that shows a refusal (a UserError, a message, or a gr.Error: Gradio's own input checks make
    those): headed by its title ("Nothing given yet" for an empty pad), and up until closed or the next action's
    button (the page's script closes it then): at Gradio's 10 s, a user who looked back at the page after a
    refused Generate saw no message, only the old images."""
    import gradio as gr

    said = str(getattr(e, "message", e)) if isinstance(e, gr.Error) else str(e)
    return gr.Error(f"{prefix}{said}{suffix}", title=title or getattr(e, "title", None) or UserError.title, duration=None,
                    print_exception=False)
