"""``python -m partner_async``: the ``partner-async`` command line."""

from partner_async.cli import main

if __name__ == "__main__":
    main()
