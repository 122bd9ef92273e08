"""Real-time endpoints: fleets of model-server processes, the router in front of them,
data capture and invocation metrics."""
