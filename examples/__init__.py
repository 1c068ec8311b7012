"""Worked examples that sit beside quart_app; not part of the installed package."""
