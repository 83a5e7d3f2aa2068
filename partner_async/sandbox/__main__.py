"""``python -m partner_async.sandbox``: serve the sandbox on loopback until Ctrl-C."""

from __future__ import annotations

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
