"""Run the logger: `python -m portcullis_logger` (settings from PORTCULLIS_LOGGER_*)."""

import uvicorn
from portcullis.telemetry import configure_logging, configure_tracing

from portcullis_logger.app import create_app
from portcullis_logger.settings import LoggerSettings


def main() -> None:
    settings = LoggerSettings()
    configure_logging("logger", settings.log_level)
    configure_tracing("portcullis-logger", settings.trace_exporter, settings.otlp_endpoint)
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
