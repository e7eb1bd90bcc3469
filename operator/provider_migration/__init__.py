"""provider-migration-operator: move LLM traffic between model providers, safely and reversibly."""

__version__ = "0.1.0"
