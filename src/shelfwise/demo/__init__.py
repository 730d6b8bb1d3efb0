"""The bundled store demo."""

from shelfwise.demo.pipeline import DemoConfig, DemoResult, run_demo

__all__ = ["DemoConfig", "DemoResult", "run_demo"]
