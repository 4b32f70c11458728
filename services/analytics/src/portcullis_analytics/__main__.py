"""Run analytics: `python -m portcullis_analytics` (settings from PORTCULLIS_ANALYTICS_*)."""

from portcullis_worker import run_worker

from portcullis_analytics.app import create_app
from portcullis_analytics.settings import AnalyticsSettings


def main() -> None:
    run_worker("analytics", AnalyticsSettings(), create_app)


if __name__ == "__main__":
    main()
