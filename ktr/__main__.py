"""``python -m ktr``: the same as the ``ktr`` command."""

from .cli import run

if __name__ == "__main__":
    run()
