# One image for the operator and the worker (two entry points), built in two stages.
# The build stage installs exactly what CI installs (constraints.txt); the final stage has no
# compilers, no pip cache and runs as a numeric non-root user.
# The base is pinned by digest (a tag moves, a digest does not); refresh it as docs/install.md says.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/eventreplay
COPY pyproject.toml constraints.txt README.md ./
COPY eventreplay ./eventreplay
COPY operator ./operator
COPY worker ./worker
COPY cli ./cli
RUN /opt/eventreplay/bin/pip install -c constraints.txt . \
 && find /opt/eventreplay -name '__pycache__' -prune -exec rm -rf {} +
# The uid needs a name: kopf derives its peering identity from getpass.getuser() (pwd), which
# raises for a uid without a passwd entry, so the operator pod would exit at start. Written here
# and copied, so the final stage runs nothing.
RUN mkdir -p /out/etc \
 && cp /etc/passwd /etc/group /out/etc/ \
 && echo "eventreplay:x:65532:65532:eventreplay:/nonexistent:/usr/sbin/nologin" >> /out/etc/passwd \
 && echo "eventreplay:x:65532:" >> /out/etc/group

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="eventreplay" \
      org.opencontainers.image.description="EventReplay operator and worker" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /opt/eventreplay /opt/eventreplay
COPY --from=build /out/etc/passwd /out/etc/group /etc/
ENV PATH=/opt/eventreplay/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
USER 65532:65532
# The operator by default; worker Jobs run `python -m eventreplay.worker run`.
ENTRYPOINT ["python", "-m", "eventreplay.operator"]
