"""Writers and readers for machines (installed as ``igae_robot.exporters``).  Never imports torch."""
