"""The Gradio chat: a thin face over kb.engine."""
