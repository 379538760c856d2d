"""``python -m findata.db``: the db and ingest commands without findata-api."""

from findata.db.cli import main

main(prog_name="python -m findata.db")
