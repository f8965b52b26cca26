"""grader: quantum-aware checks and a fast, sandboxed autograder.

This package works without a deployment and imports nothing else of qcampus.
"""
