"""The sans-IO MCP protocol core: synchronous, transport-free, no clock, no randomness.

Bytes and messages go in, events and bytes come out; a transport embeds it.
"""
