"""``python -m quart_app serve``: the same as the ``quart-app`` command."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
