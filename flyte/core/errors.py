"""The one error type for input that the pipeline cannot use."""


class DataValidationError(ValueError):
    """Raised for unusable input; the message names the file, column or value at fault."""
