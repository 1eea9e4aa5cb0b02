"""Offline stand-in for pypa's get-pip.py, which ansible-test downloads from a host this network cannot reach.

ansible-test bootstraps pip into the virtual environments some sanity tests run in (changelog, import) by running
`python get-pip.py <pip options> pip==X ...`. This script does the same with the standard library's ensurepip and then
lets that pip install the exact packages ansible-test asked for from the configured package index.
"""

import subprocess
import sys


def main() -> int:
    arguments = [a for a in sys.argv[1:] if a not in {"--no-setuptools", "--no-wheel"}]
    subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], check=True, stdout=subprocess.DEVNULL)
    return subprocess.run([sys.executable, "-m", "pip", "install", *arguments], check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
