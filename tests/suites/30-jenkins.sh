#!/usr/bin/env bash
# The Jenkins pipelines (jenkins/), checked without Jenkins:
#   1. lint: npm-groovy-lint (pinned in tests/jenkins/package.json) with the
#      Jenkinsfile rules, no error or warning on any Jenkinsfile or library
#      file, and an error found in a fixture that has one;
#   2. compile: every Groovy file compiles with Groovy 2.4, the line Jenkins
#      runs, and a fixture in Groovy 3 syntax does not;
#   3. pods: the agent pods (jenkins/resources/ecs-pipeline/*.yaml) pass
#      the Kubernetes schema offline (kubernetes-validate, pinned in
#      tests/requirements.txt), with requests and limits on every container;
#   4. harness: tests/jenkins/pipeline-tests.groovy runs each Jenkinsfile
#      with the Jenkins steps stubbed, and shows the harness catches broken
#      pipelines.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
HERE=tests/jenkins
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/default-java}
if [[ ! -x $JAVA_HOME/bin/java ]] && command -v java >/dev/null; then
    # No default-java link: the JDK of the java on PATH.
    java=$(readlink -f "$(command -v java)")
    export JAVA_HOME=${java%/bin/java}
fi
SNAKEYAML=/usr/share/java/snakeyaml.jar

say() { printf '[jenkins] %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[[ -x $JAVA_HOME/bin/java ]] || die "JAVA_HOME=$JAVA_HOME has no bin/java: run tests/setup, or export JAVA_HOME"
command -v groovyc >/dev/null || die "groovyc not found: run tests/setup (Debian package groovy)"
[[ -r $SNAKEYAML ]] || die "$SNAKEYAML not found: run tests/setup (Debian package libyaml-snake-java)"
[[ -x $HERE/node_modules/.bin/npm-groovy-lint ]] || die "npm-groovy-lint not installed in $HERE: run tests/setup"
PYTHON=$ROOT/.venv/bin/python
"$PYTHON" -c 'import kubernetes_validate' 2>/dev/null || die "kubernetes-validate missing from $ROOT/.venv: run tests/setup"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
check() { # check NAME COMMAND...
    if "$@"; then
        say "ok: $1"
    else
        say "FAILED: $1"
        failures=$((failures + 1))
    fi
}

mapfile -t pipelines < <(find jenkins -name '*.Jenkinsfile' -o -name '*.groovy' | sort)
((${#pipelines[@]})) || die "no Jenkinsfile or Groovy file under jenkins/"

lint() {
    # One run over the pipelines and the fixture (CodeNarc starts slowly),
    # then each file's findings judged from the JSON report.
    "$HERE/node_modules/.bin/npm-groovy-lint" --config "$HERE" --noserver --failon none \
        --output "$work/lint.json" "${pipelines[@]}" "$HERE/fixtures/lint-error.groovy" >/dev/null
    node - "$work/lint.json" "$HERE/fixtures/lint-error.groovy" <<'JS'
const path = require('path');
const [report, fixture] = process.argv.slice(2);
const { files, summary } = require(path.resolve(report));
let ok = true;
for (const [file, { errors }] of Object.entries(files)) {
    const serious = errors.filter((e) => e.severity === 'error' || e.severity === 'warning');
    if (file === path.resolve(fixture)) {
        if (!serious.some((e) => e.severity === 'error')) {
            console.error(`lint: the fixture ${fixture} should have an error, and none was found`);
            ok = false;
        }
        continue;
    }
    for (const e of serious) {
        console.error(`${file}:${e.line}: ${e.severity}: ${e.rule}: ${e.msg}`);
        ok = false;
    }
}
if (summary.totalFilesLinted !== Object.keys(files).length || Object.keys(files).length < 2) {
    console.error(`lint: ${summary.totalFilesLinted} files linted, expected every pipeline file and the fixture`);
    ok = false;
}
process.exit(ok ? 0 : 1);
JS
}

compile() {
    local stubs=$work/stubs
    groovyc -d "$stubs" "$HERE"/stubs/org/jenkinsci/plugins/workflow/libs/Library.groovy \
        "$HERE"/stubs/com/cloudbees/groovy/cps/NonCPS.groovy || return 1
    # The Jenkinsfiles and the library, with the import Jenkins adds.
    groovyc --configscript "$HERE/compiler-config.groovy" -cp "$stubs" -d "$work/pipelines" "${pipelines[@]}" ||
        return 1
    # The harness, which the next check runs from these classes.
    groovyc -cp "$SNAKEYAML:$stubs" -d "$work/harness" "$HERE"/harness/*.groovy "$HERE"/pipeline-tests.groovy ||
        return 1
    if groovyc -d "$work/groovy3" "$HERE/fixtures/groovy3-only.groovy" 2>/dev/null; then
        say "compile: $HERE/fixtures/groovy3-only.groovy compiled with Groovy 2.4; the check cannot tell"
        return 1
    fi
}

pods() {
    "$PYTHON" "$HERE/validate-pods.py" "$ROOT"
}

harness() {
    groovy -cp "$work/harness:$work/stubs:$SNAKEYAML" "$HERE/pipeline-tests.groovy" "$ROOT"
}

check lint lint
check compile compile
check pods pods
check harness harness
((failures == 0)) || die "$failures check(s) failed"
say "all checks passed"
