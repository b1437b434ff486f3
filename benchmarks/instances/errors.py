"""Errors raised while reading benchmark instances."""


class InstanceFormatError(ValueError):
    """An instance, solution or best-known file does not follow its documented format."""
