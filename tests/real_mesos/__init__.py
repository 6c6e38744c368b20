"""A real Mesos 1.11.0 master for the tests: install (install.py), start (harness.py), fixtures (fixtures.py)."""
