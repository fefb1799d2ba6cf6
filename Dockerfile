# Builds every Sightline executable into one image; docker-compose.yml runs one process
# per container from it. Not built in CI (no Docker engine there); validated by compose.
FROM swift:6.1-bookworm AS build
RUN apt-get update && apt-get install -y libsqlite3-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN swift build -c release --static-swift-stdlib && mkdir /out && \
    cp .build/release/sightline .build/release/sightline-* /out/

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y libsqlite3-0 libxml2 ca-certificates && rm -rf /var/lib/apt/lists/* && \
    useradd --system --uid 10001 sightline
COPY --from=build /out/ /usr/local/bin/
USER sightline
WORKDIR /data
