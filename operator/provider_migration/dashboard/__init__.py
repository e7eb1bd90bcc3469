"""`pmo dashboard`: a local web UI over the user's own kubeconfig (their RBAC applies to every action)."""
