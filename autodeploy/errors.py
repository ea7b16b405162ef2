"""The errors autodeploy reports, and the exit code of each.

    AutodeployError                 exit 1: the deploy failed
    ├── InputError                  exit 2: a flag, input or value is invalid
    │   └── ImageFileError          exit 2: image.yaml (or its neighbours) cannot be rewritten safely
    ├── RegistryError               exit 1: the registry refused or could not be reached
    ├── GitHubError                 exit 1: the GitHub API refused or could not be reached
    ├── GitError                    exit 1: the git binary failed on a local checkout
    ├── ConflictError               exit 1: another run changed the branch first (retried first)
    └── UnhealthyError              exit 1: a promotion's source version failed, or its health is unknown

Only `boundary.ErrorBoundary`, which both entrypoints use, catches these. Every message is one line that
says what went wrong and, where it can, what to do about it. No message ever holds a secret.
"""

from __future__ import annotations

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_BUG = 3
EXIT_INTERRUPTED = 130


class AutodeployError(Exception):
    exit_code = EXIT_FAILED

    def __init__(self, message: str) -> None:
        # One line, always: a multi-line message would break `::error::` annotations and logs.
        super().__init__(" ".join(message.split()))

    @property
    def message(self) -> str:
        return str(self)


class InputError(AutodeployError):
    exit_code = EXIT_BAD_INPUT


class ImageFileError(InputError):
    """image.yaml is not valid YAML, or its generated block cannot be rewritten safely."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        where = path or "image.yaml"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}")


class RegistryError(AutodeployError):
    pass


class GitHubError(AutodeployError):
    pass


class GitError(AutodeployError):
    pass


class ConflictError(AutodeployError):
    """Someone else updated the branch between our read and our write."""


class StaleSnapshot(ConflictError):
    """Not a lost race on a write: the adapter knows its snapshot is out of date (it merged the base
    into the branch, or found a branch it took to be missing); the pipeline reads again at once,
    without backing off."""


class UnhealthyError(AutodeployError):
    """The health gate refused a promotion: the source version failed, or nothing says it succeeded."""
