"""Pure array functions: each op's forward and backward, no state, no autograd.

``conv`` holds the one N-d convolution engine (and the transposed conv); ``pad`` the padding
modes; ``reference`` the slow textbook versions the engine is tested against.
"""
