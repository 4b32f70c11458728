"""Run the logger: `python -m portcullis_logger` (settings from PORTCULLIS_LOGGER_*)."""

from portcullis_worker import run_worker

from portcullis_logger.app import create_app
from portcullis_logger.settings import LoggerSettings


def main() -> None:
    run_worker("logger", LoggerSettings(), create_app)


if __name__ == "__main__":
    main()
