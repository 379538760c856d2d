"""``python -m findata.api``: the ``findata`` command without its console script."""

from findata.api.cli import main

main(prog_name="findata")
