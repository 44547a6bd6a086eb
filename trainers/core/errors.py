"""Errors a user can act on. The CLI and the app print their message, never a traceback."""


class UserError(Exception):
    """Bad input, missing data or a bad checkpoint: the message says what to do."""

    title = "Error"  # the heading the app shows over the message


class NothingGiven(UserError):
    """An action asked for before its input was given (an empty pad, prompt or hole): no fault of the app nor of
    the user's file, so the app heads the message "Nothing given yet" (headed "Error", "the pad is empty: draw a
    garment ..." read as if the app had broken)."""

    title = "Nothing given yet"


class DataNotFound(UserError):
    """No data source could provide the requested dataset."""


class CheckpointError(UserError):
    """A checkpoint folder is missing, malformed, unsafe or inconsistent with its config."""


class TrainingDiverged(UserError):
    """A loss became NaN or infinite; the run stopped without saving the bad weights."""
