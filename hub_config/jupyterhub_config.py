"""JupyterHub configuration of a qcampus deployment.

Start with ``qcampus up``, or ``jupyterhub -f hub_config/jupyterhub_config.py``
with ``QCAMPUS_HOME`` set. Everything is decided in ``hub_config.configurer``.
"""

from hub_config.configurer import apply_config, config_from_settings
from qcampus import settings

c = get_config()  # noqa: F821
apply_config(c, config_from_settings(settings.load()))
