"""Provider and gateway simulators: TEST AND DEMO TOOLING ONLY.

Used by unit/e2e tests, `pmo dev` and `pmo demo`. The operator's runtime path never imports this
package. Everything here binds to and talks to loopback addresses only.

- `providers`: fake OpenAI (`/v1/chat/completions`) and Anthropic (`/v1/messages`) servers.
- `routing_readers`: turn a routing object (LiteLLM ConfigMap, HTTPRoute, AIGatewayRoute) into weights.
- `kube`: read routing objects and Secrets from a real API server with the `kubernetes` client.
- `metrics`: the `litellm` and `otel-genai` metric presets on a private registry.
- `load`: a bounded synthetic load generator that splits requests by the routed weights.
- `gateway`: the gateway simulator gluing the above together, with `/metrics` and `/weights`.
"""

from typing import Any

__all__ = ["GatewaySimulator", "ProviderSimulator"]


def __getattr__(name: str) -> Any:
    # Lazy, so `python -m ...simulators.providers` does not import the module twice (runpy warning).
    if name == "GatewaySimulator":
        from pmo_devenv.simulators.gateway import GatewaySimulator

        return GatewaySimulator
    if name == "ProviderSimulator":
        from pmo_devenv.simulators.providers import ProviderSimulator

        return ProviderSimulator
    raise AttributeError(name)
