"""The exchange: nbgrader's transfers over HTTP to the qcampus service.

- :mod:`.store`: the records and the root-only files behind them;
- :mod:`.api`: the service's JSON endpoints, authenticated by hub tokens;
- :mod:`.client`: nbgrader's pluggable exchange classes that users' servers
  and instructors' formgrader use instead of a shared directory.
"""
