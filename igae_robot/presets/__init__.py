"""Named presets (TOML).  ``igae train --preset NAME``; see ``igae presets``."""
