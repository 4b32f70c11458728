# Real-server fixtures (NATS, Valkey, SeaweedFS S3) for every test folder in the repo.
pytest_plugins = ["portcullis_stack.pytest_fixtures"]
