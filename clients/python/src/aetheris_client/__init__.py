"""Aetheris client helpers (filled in by the client work)."""
