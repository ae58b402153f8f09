"""The ``onelayer`` command: the same program as the Rust binary, run in-process.

``python -m onelayer reproduce`` equals ``onelayer reproduce``.
"""

import signal
import sys

from . import _onelayer


def main() -> None:
    """Runs the command line in ``sys.argv`` and exits with its status."""
    # Ctrl-C ends the command as it ends the binary, instead of waiting for
    # Python to look at its signal flag.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.exit(_onelayer.main(["onelayer", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
