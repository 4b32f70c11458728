"""Run the gateway: ``python -m portcullis_gateway`` (settings from PORTCULLIS_GATEWAY_*)."""

from portcullis_gateway.server import serve
from portcullis_gateway.settings import GatewaySettings

if __name__ == "__main__":
    serve(GatewaySettings())
