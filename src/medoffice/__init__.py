"""medoffice: the medical office manager's system."""

__version__ = "0.1.0"
