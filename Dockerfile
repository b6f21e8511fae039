# The site as an image: built exactly as the README's `./scripts/build` builds it, then
# served as static files by nginx. Build for a sub-path with
#   docker build --build-arg PUBLIC_URL=/distillate/ -t distillate .
# and run with `docker run -p 8080:80 distillate`.
FROM rust:1.95-bookworm AS build
ARG PUBLIC_URL=/
WORKDIR /src
# python3 strips the page's wasm names and adds the Content-Security-Policy after trunk
# (scripts/strip_names.py, scripts/csp.py).
RUN apt-get update && apt-get install -y --no-install-recommends python3 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN ./scripts/build --public-url "$PUBLIC_URL"

FROM nginx:1.27-alpine
COPY --from=build /src/dist /usr/share/nginx/html
