# idgraph as a container: python:3.11-slim, a non-root user, `idgraph serve` on port 8000.
# docker-compose.yml runs it on Neo4j 5; alone it serves an SQLite file in its home
# (`docker run -e IDGRAPH_ADMIN_TOKEN=... -p 127.0.0.1:8000:8000 idgraph`).

# The wheel is built apart, so that neither build tools nor the sources stay in the image.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY graph ./graph
COPY cypher ./cypher
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels

RUN useradd --system --user-group --uid 10001 --create-home --home-dir /var/lib/idgraph idgraph
ENV IDGRAPH_STORE=sqlite:////var/lib/idgraph/idgraph.db \
    HOST=0.0.0.0 \
    PORT=8000
USER idgraph
WORKDIR /var/lib/idgraph
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"
# HOST=0.0.0.0 needs IDGRAPH_ADMIN_TOKEN: without one, idgraph refuses to start
CMD ["idgraph", "serve"]
