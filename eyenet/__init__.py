"""EyeNet: a network monitor on Trio."""

__version__ = "0.1.0"
