#!/usr/bin/env bash
# The whole test suite: type check, then unit + end-to-end tests against a real single-node Slurm
# (with accounting) and a real sshd on 127.0.0.1, brought up by test/cluster/up.sh (as root).
# Under CI=true a cluster that cannot start fails the run; elsewhere the cluster tests skip.
# The CLI the tests run (bin/rx.js) is the compiled one: built first, so it is never stale.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! bash test/cluster/up.sh; then
  if [ "${CI:-}" = "true" ]; then echo "test/run.sh: the test cluster did not come up (CI=true: failing)" >&2; exit 1; fi
  echo "test/run.sh: the test cluster did not come up; cluster tests will be skipped" >&2
fi
bash test/browser/setup.sh >/dev/null || { [ "${CI:-}" = "true" ] && exit 1; echo "test/run.sh: no headless Chromium (test/browser/setup.sh failed); browser tests will be skipped" >&2; }
npm run build --silent
npx tsc --noEmit -p .
exec node --import tsx --test --test-concurrency=1 --test-timeout=600000 test/unit/*.test.ts test/e2e/*.test.ts
