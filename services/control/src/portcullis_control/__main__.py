"""Run the control plane: ``python -m portcullis_control`` (settings from
PORTCULLIS_CONTROL_*), or one of its maintenance commands (``--help``)."""

from portcullis_control.entrypoints.cli import main

if __name__ == "__main__":
    main()
