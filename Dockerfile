# pgmask, built from source. The runtime image is Debian because pgmask's SQL parser
# (libpg_query, through cgo) links against the C library.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -trimpath -o /out/pgmask ./cmd/pgmask

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates postgresql-client \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/pgmask /usr/local/bin/pgmask
EXPOSE 6432
ENTRYPOINT ["pgmask"]
CMD ["--help"]
