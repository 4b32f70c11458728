"""Run analytics: `python -m portcullis_analytics` (settings from PORTCULLIS_ANALYTICS_*)."""

import uvicorn
from portcullis.telemetry import configure_logging, configure_tracing

from portcullis_analytics.app import create_app
from portcullis_analytics.settings import AnalyticsSettings


def main() -> None:
    settings = AnalyticsSettings()
    configure_logging("analytics", settings.log_level)
    configure_tracing("portcullis-analytics", settings.trace_exporter, settings.otlp_endpoint)
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
