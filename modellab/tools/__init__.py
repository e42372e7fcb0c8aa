"""Offline tools around the models: weight conversion between runtimes, the ggml writer and the
tiny random checkpoints the tests build."""
