"""Request validation: marshmallow schemas derived from Auth0's spec, narrowed by the gateway."""
