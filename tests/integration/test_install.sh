#!/usr/bin/env bash
# tests/integration/test_install.sh — `cmake --install` gives a usable
# package: a tiny program builds against it with pkg-config (shared library)
# and with find_package(lightc), and runs.
set -euo pipefail
build=${LC_BUILD_DIR:?}
mkdir -p "${LC_TEST_TMP:-/tmp}" # may run before any test made it
tmp=$(mktemp -d "${LC_TEST_TMP:-/tmp}/install-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
pc=$(dirname "$(find "$tmp/prefix" -name lightc.pc | head -n1)")
[ -n "$pc" ] || { echo "lightc.pc not installed"; exit 1; }
cat > "$tmp/tiny.c" <<'C'
#include <lightc/hub.h>
#include <stdio.h>
int main(int argc, char **argv) {
    lc_hub_options o = {.root = argv[1], .loggers = "sqlite,csv"};
    lc_hub *hub;
    if (lc_hub_open(&hub, &o) != LC_OK) { fprintf(stderr, "%s\n", lc_errmsg()); return 1; }
    lc_run_options ro = {.experiment = "tiny", .name = "one"};
    lc_run *run;
    if (lc_run_start(hub, &ro, &run) != LC_OK) { fprintf(stderr, "%s\n", lc_errmsg()); return 1; }
    lc_run_log_metric(run, "x", 1.5, 0);
    lc_run_finish(run, LC_RUN_FINISHED);
    lc_hub_close(hub, 0);
    printf("tiny: lightc %s ok\n", lc_version());
    return 0;
}
C
export PKG_CONFIG_PATH="$pc"
libdir=$(pkg-config --variable=libdir lightc)
cc -std=c11 "$tmp/tiny.c" $(pkg-config --cflags --libs lightc) -Wl,-rpath,"$libdir" -o "$tmp/tiny"
"$tmp/tiny" "$tmp/runs"
grep -q '^1.5' "$tmp/runs/tiny/one/metrics.csv" || grep -q ',1.5' "$tmp/runs/tiny/one/metrics.csv"

# CMake package config
mkdir -p "$tmp/cm"
cat > "$tmp/cm/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.20)
project(tiny C)
find_package(lightc REQUIRED)
add_executable(tiny ../tiny.c)
target_link_libraries(tiny PRIVATE lightc::lightc)
CM
cmake -S "$tmp/cm" -B "$tmp/cm/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cm/build" >/dev/null
"$tmp/cm/build/tiny" "$tmp/runs2"
echo "install test: pkg-config and find_package builds both ran"
