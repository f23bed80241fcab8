"""HTTP handlers: thin adapters from requests to the services."""
