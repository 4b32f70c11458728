"""Run the mock provider: ``python -m mock_provider --host 127.0.0.1 --port 8790``."""

from mock_provider.server import parse_args, serve

if __name__ == "__main__":
    args = parse_args()
    serve(args.host, args.port, args.workers)
