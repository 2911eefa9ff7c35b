"""lendwatch: watch regulators and fintech news for changes that affect online lending."""

__version__ = "0.1.0"
