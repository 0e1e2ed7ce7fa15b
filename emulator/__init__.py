"""An Auth0 tenant emulator for demos and tests (never production); see docs/emulator.md.

``emulator.tenant.Tenant`` holds the state, ``emulator.server.EmulatorServer``
serves it on loopback, ``emulator.cli`` is the command line.
"""
