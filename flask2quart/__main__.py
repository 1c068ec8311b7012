"""`python -m flask2quart`."""

from __future__ import annotations

from flask2quart.cli import main

raise SystemExit(main())
