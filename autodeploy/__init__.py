"""autodeploy: pin a freshly built image's digest in a GitOps repo and open a pull request."""

__version__ = "0.1.0"
