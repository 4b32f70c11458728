"""Run the logger: `python -m portcullis_logger` (settings from PORTCULLIS_LOGGER_*)."""

from portcullis.telemetry import configure_logging, configure_tracing
from portcullis_worker import serve

from portcullis_logger.app import create_app
from portcullis_logger.settings import LoggerSettings


def main() -> None:
    settings = LoggerSettings()
    configure_logging("logger", settings.log_level)
    configure_tracing("portcullis-logger", settings.trace_exporter, settings.otlp_endpoint)
    serve(create_app(settings), settings.http_host, settings.http_port)


if __name__ == "__main__":
    main()
