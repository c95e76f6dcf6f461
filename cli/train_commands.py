"""Commands of the learning side: train, eval, demo, presets."""
