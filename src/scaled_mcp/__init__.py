"""Scaled MCP: a horizontally scalable Model Context Protocol server engine."""

__version__ = "0.1.0"
