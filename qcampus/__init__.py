"""qcampus: train and certify the quantum-technology workforce.

This package is the ground floor of the platform: deployment settings, the
database engine, the data directory and the ``qcampus`` command that composes
the other packages (``grader``, ``certificates``) through entry points. It
imports none of them.
"""

__version__ = "0.1.0"

# The layout version of a deployment directory. ``qcampus init`` refuses a
# directory written by a newer layout instead of guessing how to downgrade it.
DEPLOYMENT_VERSION = 1
