#!/usr/bin/env bash
# yamllint + ansible-lint (production profile, offline) + shellcheck (warnings and errors) on the scripts.
source "$(dirname "$0")/lib.sh"
cd "$FC_ROOT" || exit
export ANSIBLE_CONFIG="$FC_ROOT/ansible.cfg"
log "yamllint"
"$(venv_bin yamllint)" --strict .
log "ansible-lint --profile production"
PATH="$FC_VENV/bin:$PATH" "$(venv_bin ansible-lint)" --offline --profile production
log "shellcheck"
shellcheck -S warning -x scripts/*.sh lab/guest/fclab-identity .ci/run
