# Build a static procmon, then ship it in a small image with a shell for the
# sample tasks. Replace /etc/procmon/procmon.toml by a mount or a derived image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/procmon ./cmd/procmon

FROM debian:bookworm-slim
COPY --from=build /out/procmon /usr/local/bin/procmon
COPY sample.toml /etc/procmon/procmon.toml
STOPSIGNAL SIGTERM
# Docker reserves exit code 2, which `procmon ready` gives when it cannot reach
# procmon: any failure is "unhealthy" (1).
HEALTHCHECK --interval=10s --timeout=3s CMD ["/bin/sh", "-c", "/usr/local/bin/procmon ready || exit 1"]
ENTRYPOINT ["/usr/local/bin/procmon"]
CMD ["run", "-c", "/etc/procmon/procmon.toml"]
