"""Development tools beside the runtime: the demo, the panel's server and the README's
generated tables. They may import both the gateway (`app`) and the emulator; the
gateway never imports them (import-linter contracts in pyproject.toml)."""
