"""The Gradio chat: a thin face over kb/ask/pipeline.py."""
