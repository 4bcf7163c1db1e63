"""Writes of the web API: tokens, pushes of values, workflow actions."""
