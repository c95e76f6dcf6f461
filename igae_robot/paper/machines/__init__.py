"""Built-in machine profiles, one TOML file each (read by :mod:`igae_robot.paper.machine`)."""
