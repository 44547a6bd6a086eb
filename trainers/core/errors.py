"""Errors a user can act on. The CLI and the app print their message, never a traceback."""


class UserError(Exception):
    """Bad input, missing data or a bad checkpoint: the message says what to do."""


class DataNotFound(UserError):
    """No data source could provide the requested dataset."""


class CheckpointError(UserError):
    """A checkpoint folder is missing, malformed, unsafe or inconsistent with its config."""


class TrainingDiverged(UserError):
    """A loss became NaN or infinite; the run stopped without saving the bad weights."""
