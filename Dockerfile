# The autodeploy GitHub Action (and CLI): docker build -t autodeploy .
# Python minor version = the one requirements.lock was compiled with (a test checks).
FROM python:3.11-slim-bookworm AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
COPY requirements.lock /tmp/requirements.lock
# Wheels only, every file checked against the lock's hashes: nothing is compiled, so no build tools.
RUN python -m venv /opt/autodeploy \
 && /opt/autodeploy/bin/pip install --no-cache-dir --require-hashes --only-binary=:all: --no-deps \
      -r /tmp/requirements.lock \
 && /opt/autodeploy/bin/pip uninstall --yes pip
COPY autodeploy /opt/autodeploy/app/autodeploy
# Bytecode made now: the non-root user could not write it at run time, and every start would pay for it.
RUN python -m compileall -q --invalidation-mode unchecked-hash /opt/autodeploy/app \
 && printf '#!/bin/sh\nexec python -m autodeploy "$@"\n' > /opt/autodeploy/bin/autodeploy \
 && chmod 0755 /opt/autodeploy/bin/autodeploy


FROM python:3.11-slim-bookworm

# uid 1001 is the runner user of GitHub-hosted runners, so $GITHUB_OUTPUT, $GITHUB_STEP_SUMMARY and
# the workspace, which the runner's user owns, stay writable (see README, "the container's user").
RUN useradd --uid 1001 --user-group --no-create-home --home-dir /github/home --shell /usr/sbin/nologin autodeploy
COPY --from=build /opt/autodeploy /opt/autodeploy
ENV PATH=/opt/autodeploy/bin:$PATH \
    PYTHONPATH=/opt/autodeploy/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 1001:1001
ENTRYPOINT ["python", "-m", "autodeploy.action"]
