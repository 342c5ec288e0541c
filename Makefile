# dehandler: build, package as a Docker managed plugin, install, test.
#
#   make install     build the static binary, create and enable the plugin $(PLUGIN)
#   make uninstall   disable and remove the plugin
#   make image       build the container image $(IMAGE), FROM scratch with the static binary
#   make test        run every test (needs root and a Docker daemon)
#   make bench       measure dehandler against the original bash method, write BENCHMARKS.md

PLUGIN ?= dehandler:latest
TARGET := x86_64-unknown-linux-gnu
BINARY := target/$(TARGET)/release/dehandler
PLUGIN_DIR := target/plugin
IMAGE ?= dehandler:latest
IMAGE_DIR := target/image
CARGO ?= cargo

.PHONY: build plugin install uninstall image test lint bench clean

# Static linking applies to the target binary only: with --target, build scripts and proc
# macros are built for the host without these flags.
build:
	RUSTFLAGS="-C target-feature=+crt-static" $(CARGO) build --release --locked --target $(TARGET)

# The plugin directory: config.json and a rootfs with the binary and an empty
# /run/docker/plugins, nothing else.
plugin: build
	plugin/assemble.sh $(BINARY) config.json $(PLUGIN_DIR)

install: plugin
	plugin/replace.sh $(PLUGIN) $(PLUGIN_DIR)

uninstall:
	-docker plugin disable --force $(PLUGIN)
	docker plugin rm --force $(PLUGIN)

# The build context holds the Dockerfile and the binary alone, so the build sends nothing
# else to dockerd.
image: build
	rm -rf $(IMAGE_DIR)
	mkdir -p $(IMAGE_DIR)
	cp docker/Dockerfile $(BINARY) $(IMAGE_DIR)/
	docker build --quiet --tag $(IMAGE) $(IMAGE_DIR)

test: plugin
	$(CARGO) test --locked -- --test-threads=2

# About 400 container starts one at a time and two bursts of 200 containers, with a plugin,
# a network and host routes of its own, all removed at the end.
bench: build
	bench/run --binary $(BINARY) --output BENCHMARKS.md

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

clean:
	$(CARGO) clean
