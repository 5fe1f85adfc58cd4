"""The gate's refusal: a message that names the migration and says what to do next."""


class GateError(Exception):
    """The gate refuses; the message is for the operator."""
