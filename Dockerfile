# paymux container image: paymuxd (serve, work, migrate, admin, check-config) and paymux-sim (the
# bundled provider simulators). Used by helm/paymux.
#
#   docker build -t paymux:0.1.0 .
#   docker run --rm paymux:0.1.0 version
#
# The image runs as uid/gid 10001 with a read-only root filesystem in mind: nothing is written
# outside /tmp. Migrations and JSON Schemas are read from /usr/share/paymux (PAYMUX_MIGRATIONS_DIR,
# PAYMUX_SCHEMAS_DIR), not from the compiled-in source paths.

ARG DEBIAN_IMAGE=debian:bookworm-slim

# --- build -------------------------------------------------------------------------------------
FROM ${DEBIAN_IMAGE} AS build
ARG DEBIAN_FRONTEND=noninteractive
# The build packages of scripts/deps (its first two lines); no GoogleTest: tests are not built.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config git ca-certificates curl \
      libpistache-dev rapidjson-dev libpqxx-dev libyaml-cpp-dev libssl-dev libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
# why: PAYMUX_WERROR=OFF only here: CI builds enforce warnings; an optimiser-only warning in a
# Release build should not stop an image build.
RUN cmake -S /src -B /build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DPAYMUX_WERROR=OFF \
 && cmake --build /build -j"$(nproc)" --target paymuxd paymux-sim \
 && install -D -m 0755 -s /build/services/paymuxd/paymuxd /out/usr/local/bin/paymuxd \
 && install -D -m 0755 -s /build/connectors/sandbox/paymux-sim /out/usr/local/bin/paymux-sim \
 && mkdir -p /out/usr/share/paymux/simulators/adyen \
 && cp -r /src/migrations /src/schemas /out/usr/share/paymux/ \
 && cp -r /src/connectors/adyen/schemas /out/usr/share/paymux/simulators/adyen/schemas \
 && cp /src/config/example.yaml /out/usr/share/paymux/example.yaml

# --- runtime -----------------------------------------------------------------------------------
FROM ${DEBIAN_IMAGE}
ARG DEBIAN_FRONTEND=noninteractive
# Runtime libraries only (their own dependencies, libpq5 among them, come along).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpistache0 libpqxx-6.4 libyaml-cpp0.7 libcurl4 libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 paymux \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin paymux

COPY --from=build /out/ /

# paymuxd reads these instead of the build tree's paths. The Adyen simulator's request schemas:
# `paymux-sim --provider adyen --set schema_dir=/usr/share/paymux/simulators/adyen/schemas`.
ENV PAYMUX_MIGRATIONS_DIR=/usr/share/paymux/migrations \
    PAYMUX_SCHEMAS_DIR=/usr/share/paymux/schemas

LABEL org.opencontainers.image.title="paymux" \
      org.opencontainers.image.description="paymux payments middleware (paymuxd, paymux-sim)"

USER 10001:10001
WORKDIR /tmp
EXPOSE 8080
ENTRYPOINT ["paymuxd"]
CMD ["serve", "--config", "/etc/paymux/paymux.yaml"]
