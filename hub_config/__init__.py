"""JupyterHub deployment of qcampus.

``configurer`` turns a deployment's settings and roster into JupyterHub
configuration (traits only); ``spawner`` starts each user's server as their own
system user; ``singleuser`` writes the Jupyter and nbgrader configuration those
servers read; ``jupyterhub_config.py`` is the thin file JupyterHub loads.
"""
