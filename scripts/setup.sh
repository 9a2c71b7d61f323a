#!/usr/bin/env bash
# Everything the tests need on a fresh Debian 12 machine, each step cached:
# venv, vendored collections, the ansible-core matrix's venvs, controller tools, Docker engine, test images,
# the guard test's wheelhouse.
source "$(dirname "$0")/lib.sh"
steps=("$@"); [ "${#steps[@]}" -gt 0 ] || steps=(venv collections matrix host-tools docker images guard-wheels)
for s in "${steps[@]}"; do
  case "$s" in
    venv) bash "$FC_ROOT/scripts/setup-venv.sh" ;;
    collections) bash "$FC_ROOT/scripts/setup-collections.sh" ;;
    matrix) bash "$FC_ROOT/scripts/setup-matrix.sh" ;;
    host-tools) bash "$FC_ROOT/scripts/setup-host-tools.sh" ;;
    docker) bash "$FC_ROOT/scripts/setup-docker.sh" ;;
    images) bash "$FC_ROOT/scripts/build-images.sh" ;;
    guard-wheels) bash "$FC_ROOT/scripts/setup-guard-wheels.sh" >/dev/null ;;
    *) die "unknown set-up step '$s' (venv collections matrix host-tools docker images guard-wheels)" ;;
  esac
done
