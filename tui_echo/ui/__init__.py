"""The live monitor: a Textual app over the echo core's events.

Importing this package imports Textual; the core never does.
"""
