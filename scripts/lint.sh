#!/usr/bin/env bash
# yamllint + ansible-lint (production profile, offline) + shellcheck (warnings and errors) on the scripts
# + antsibull-changelog (fragments, changelogs/changelog.yaml, CHANGELOG.md generated from it)
# + antsibull-docs (plugin and role docs: schema, markup, references).
source "$(dirname "$0")/lib.sh"
cd "$FC_ROOT" || exit
export ANSIBLE_CONFIG="$FC_ROOT/ansible.cfg"
log "yamllint"
"$(venv_bin yamllint)" --strict .
log "ansible-lint --profile production"
PATH="$FC_VENV/bin:$PATH" "$(venv_bin ansible-lint)" --offline --profile production
log "shellcheck"
shellcheck -S warning -x scripts/*.sh lab/guest/fclab-identity .ci/run roles/audit_schedule/files/fleetclock-guard.sh
log "antsibull-changelog lint (changelogs/fragments, changelogs/changelog.yaml)"
"$(venv_bin antsibull-changelog)" lint
"$(venv_bin antsibull-changelog)" lint-changelog-yaml changelogs/changelog.yaml
generated="$(mktemp)"
trap 'rm -f "$generated"' EXIT
"$(venv_bin antsibull-changelog)" generate --output "$generated" --output-format md
cmp -s "$generated" CHANGELOG.md \
  || die "CHANGELOG.md is not what changelogs/changelog.yaml generates: edit changelogs/ (fragments), not CHANGELOG.md; then: antsibull-changelog generate"
log "antsibull-docs lint-collection-docs --plugin-docs"
PATH="$FC_VENV/bin:$PATH" "$(venv_bin antsibull-docs)" lint-collection-docs --plugin-docs .
