"""igae_robot: an inverse-graphics autoencoder whose gestures drive pen plotters and robot arms."""

from __future__ import annotations


def __getattr__(name: str):
    # The version is the installed package's (pyproject.toml is its one source), read only when
    # asked: importlib.metadata costs milliseconds every `igae` start would otherwise pay.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("igae-robot")
        except PackageNotFoundError:  # a source tree that was never installed
            return "0+unknown"
    raise AttributeError(f"module 'igae_robot' has no attribute {name!r}")
