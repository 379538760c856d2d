# findata images: `docker buildx bake` (default group: api + migrate), `... bake ci`
# (also the test image). Tags are never computed here: TAGS is filled by the one tag
# rule, tools/release_tags.py (see `make build` and .github/workflows/ci.yml), e.g.
#   TAGS=$(python3 tools/release_tags.py --branch "$BRANCH" --sha "$SHA" --format csv) \
#   VERSION=... SHA=... docker buildx bake

# The packages' version, X.Y.Z (packages/*/pyproject.toml): the OCI version label.
variable "VERSION" {
  default = "0.0.0"
}

# The branch and full commit sha this build is of: labels only (the tags carry them already).
variable "BRANCH" {
  default = ""
}

variable "SHA" {
  default = ""
}

# Comma-separated tags from tools/release_tags.py ("0.1.0,latest" on main). "local"
# marks a build nobody computed tags for; CI never pushes it.
variable "TAGS" {
  default = "local"
}

# Where the images go: REGISTRY/NAMESPACE/findata-api, .../findata-migrate.
variable "REGISTRY" {
  default = "docker.io"
}

variable "NAMESPACE" {
  default = "findata"
}

variable "SOURCE_URL" {
  default = "https://github.com/findata/findata"
}

# The Dockerfile's base (override to build on a mirror or a local stand-in).
variable "BASE_IMAGE" {
  default = "python:3.11-slim-bookworm"
}

# External build cache: none by default (the builder's own layer cache serves local
# builds, and Docker's default `docker` driver cannot export one); CI uses the GitHub
# Actions cache (CACHE_FROM=type=gha,scope=findata CACHE_TO=type=gha,scope=findata,mode=max).
variable "CACHE_FROM" {
  default = ""
}

variable "CACHE_TO" {
  default = ""
}

# Every ref of one image: one per computed tag.
function "image_refs" {
  params = [image]
  result = [for tag in split(",", TAGS) : "${REGISTRY}/${NAMESPACE}/${image}:${tag}"]
}

group "default" {
  targets = ["api", "migrate"]
}

group "ci" {
  targets = ["api", "migrate", "test"]
}

# Shared settings; the leading underscore marks it as not built on its own.
target "_common" {
  context    = "."
  dockerfile = "Dockerfile"
  platforms  = ["linux/amd64"]
  args = {
    BASE_IMAGE = BASE_IMAGE
  }
  labels = {
    "org.opencontainers.image.source"   = SOURCE_URL
    "org.opencontainers.image.revision" = SHA
    "org.opencontainers.image.version"  = VERSION
    "io.github.findata.branch"          = BRANCH
  }
  cache-from = CACHE_FROM == "" ? [] : [CACHE_FROM]
  cache-to   = CACHE_TO == "" ? [] : [CACHE_TO]
}

target "api" {
  inherits = ["_common"]
  target   = "api"
  tags     = image_refs("findata-api")
}

target "migrate" {
  inherits = ["_common"]
  target   = "migrate"
  tags     = image_refs("findata-migrate")
}

# Never pushed: CI loads it and runs the suite inside it.
target "test" {
  inherits = ["_common"]
  target   = "test"
  tags     = ["findata-test:local"]
}
