"""LangGraph Server: serving our graphs (`deploy`, `entry`) and attaching to a server (`server`)."""
