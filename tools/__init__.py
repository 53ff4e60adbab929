"""Maintenance tools run from a checkout (``make bench``, ``make notebooks``, ``make links``); not installed."""
