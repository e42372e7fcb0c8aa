"""A browser runtime: Whisper exported to ONNX for transformers.js, run in headless Chromium through
a small page of ours (web/), served from a local HTTP server and driven by Selenium."""
