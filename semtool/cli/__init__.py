"""The face: a Typer app with one thin module per subcommand.

Each public module here defines ``register(app)``; :mod:`semtool.cli.app` finds them, so
adding a subcommand means adding one file. Modules import only typer and the standard
library at top level; heavy work is imported inside the command functions.
"""
