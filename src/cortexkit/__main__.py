"""``python -m cortexkit`` is the ``cortexkit`` command (what ``torchrun -m cortexkit train`` launches)."""

from cortexkit.cli import main

if __name__ == "__main__":
    main(prog_name="cortexkit")
