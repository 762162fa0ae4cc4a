"""The bottom layer: the vocabulary and arithmetic every other layer stands on.

Findings and errors, records, the geometry of a sliding window and the receptive field.
Imports nothing from the rest of sizecalc, and never torch.
"""
