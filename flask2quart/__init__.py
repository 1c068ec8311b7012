"""flask2quart: port a Flask application and its tests to Quart, keeping untouched code as is."""

from __future__ import annotations

from flask2quart.report import Finding
from flask2quart.transform import PortResult, port_paths

__all__ = ["Finding", "PortResult", "port_paths"]
