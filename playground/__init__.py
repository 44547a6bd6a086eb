"""The Gradio playground: one module per tab, each with `build(models)` and pure handlers."""
