"""Reading what runs: the Prometheus HTTP API (I/O). The facts it returns are interpreted by
controller/domain/observed.py."""
