"""The application API: what users write servers against (tools, resources, prompts)."""
