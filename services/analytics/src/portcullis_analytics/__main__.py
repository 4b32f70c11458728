"""Run analytics: `python -m portcullis_analytics` (settings from PORTCULLIS_ANALYTICS_*)."""

from portcullis.telemetry import configure_logging, configure_tracing
from portcullis_worker import serve

from portcullis_analytics.app import create_app
from portcullis_analytics.settings import AnalyticsSettings


def main() -> None:
    settings = AnalyticsSettings()
    configure_logging("analytics", settings.log_level)
    configure_tracing("portcullis-analytics", settings.trace_exporter, settings.otlp_endpoint)
    serve(create_app(settings), settings.http_host, settings.http_port)


if __name__ == "__main__":
    main()
