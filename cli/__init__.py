"""The ``igae`` command line (installed as ``igae_robot.cli``)."""
