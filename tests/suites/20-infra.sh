#!/usr/bin/env bash
# Terraform: static verification of infra/ (see tests/infra/verify).
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../infra/verify"
