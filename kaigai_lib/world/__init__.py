"""The synthetic world with known truth (parameters, firms, establishments, the latent effects) and its snapshot.

Imports only :mod:`kaigai_lib.data`.
"""
