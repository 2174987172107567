// The pipeline harness's tests: every jenkins/<app>.Jenkinsfile must pass
// every scenario of PipelineChecks, and the harness must catch broken
// pipelines: the fixtures in fixtures/ and planted mistakes in a copy of
// the library. Prints one line per test and "N passed, N failed".
//
// tests/suites/30-jenkins.sh compiles the harness (harness/*.groovy) and the
// @Library stub (stubs/), then runs, from the repository's root:
//   groovy -cp CLASSES:/usr/share/java/snakeyaml.jar tests/jenkins/pipeline-tests.groovy .

if (args.length != 1) {
    System.err.println('usage: pipeline-tests.groovy REPO_ROOT')
    System.exit(2)
}
File repoRoot = new File(args[0]).canonicalFile
File here = new File(repoRoot, 'tests/jenkins')
File library = new File(repoRoot, 'jenkins')
PipelineRunner runner = new PipelineRunner(repoRoot, new File(here, 'fakes'))

int passed = 0
int failed = 0
Closure test = { String name, Closure<List<String>> body ->
    List<String> problems
    try {
        problems = body.call()
    } catch (Throwable crash) {
        problems = ["the test crashed: ${crash}".toString()]
        crash.printStackTrace()
    }
    if (problems) {
        failed++
        println "not ok - ${name}"
        problems.each { println "    ${it}" }
    } else {
        passed++
        println "ok - ${name}"
    }
}

// Each problem expected of a broken pipeline, as a list of problems when
// one or more were not found.
Closure<List<String>> expectProblems = { List<String> found, List<String> expected ->
    List<String> missing = expected.findAll { String wanted -> !found.any { it.contains(wanted) } }
    return missing.collect { "the harness did not report '${it}'; it reported: ${found}".toString() }
}

/** Copies the directory tree `from` into `to`. */
void copyTree(File from, File to) {
    from.eachFileRecurse { File file ->
        File target = new File(to, from.toPath().relativize(file.toPath()).toString())
        if (file.isDirectory()) {
            target.mkdirs()
        } else {
            target.parentFile.mkdirs()
            target.bytes = file.bytes
        }
    }
}

// ---- the real pipelines

List<String> apps = new File(repoRoot, 'config').listFiles()
    .findAll { it.name.endsWith('.json') && !it.name.endsWith('.schema.json') }
    .collect { it.name - '.json' }.sort()
test("one Jenkinsfile per app of config/ (${apps.join(', ')})") {
    apps.findAll { !new File(library, "${it}.Jenkinsfile").isFile() }
        .collect { "jenkins/${it}.Jenkinsfile is missing".toString() }
}
for (String app in apps) {
    File jenkinsfile = new File(library, "${app}.Jenkinsfile")
    if (jenkinsfile.isFile()) {
        test("jenkins/${app}.Jenkinsfile passes every scenario") {
            new PipelineChecks(runner, jenkinsfile, library, app).problems()
        }
    }
}

// ---- broken Jenkinsfiles

test('a Jenkinsfile that names the wrong app fails the harness') {
    List<String> found = new PipelineChecks(runner, new File(here, 'fixtures/wrong-app.Jenkinsfile'), library,
        'service-a').problems()
    expectProblems(found, ["was called for 'service-b', expected 'service-a'", "cargo test -p service-a"])
}
test('a Jenkinsfile that deploys before it pushes, without --result-file, fails the harness') {
    List<String> found = new PipelineChecks(runner, new File(here, 'fixtures/out-of-order.Jenkinsfile'), library,
        'service-a').problems()
    expectProblems(found, ['the stages went', 'without --result-file', "does not load the shared library"])
}

// ---- planted mistakes in a copy of the library

List<Map> mistakes = [
    [what: 'deploy without --result-file', file: 'vars/ecsDeployer.groovy',
     from: "'--timeout', '15m', '--result-file', file,", to: "'--timeout', '15m',",
     expect: 'without --result-file'],
    [what: 'a tag that is not the git SHA', file: 'vars/ecsPipeline.groovy',
     from: 'state.tag = sha.trim()', to: "state.tag = 'latest'", expect: "--tag is 'latest'"],
    [what: 'a push to another registry', file: 'vars/ecsDeployer.groovy',
     from: "'--registry', settings.registry, '--region'", to: "'--registry', 'docker.io', '--region'",
     expect: "push --registry is 'docker.io'"],
    [what: 'an image from another repository', file: 'vars/ecsApp.groovy',
     from: 'return config.deploy?.repository ?: config.app', to: "return 'ecs-pipeline'",
     expect: 'deploy --image is'],
    [what: 'a failed rollout that does not fail the build', file: 'vars/ecsPipeline.groovy',
     from: 'ecsDeployer.requireSuccess(app, state.deploy)', to: '',
     expect: "a deploy that ended 'failed' did not fail the build"],
    [what: 'IMAGE_TAG that still builds and pushes', file: 'vars/ecsPipeline.groovy',
     from: 'when { expression { !state.settings.imageTag } }', to: 'when { expression { true } }', count: 2,
     expect: 'IMAGE_TAG is set, yet deployer build ran'],
    [what: 'IMAGE_TAG left in deployer\'s environment', file: 'vars/ecsDeployer.groovy',
     from: "'env -u IMAGE_TAG ./target/release/deployer '", to: "'./target/release/deployer '",
     expect: 'saw IMAGE_TAG'],
    [what: 'stages out of order', file: 'vars/ecsPipeline.groovy',
     from: "stage('Push')", to: "stage('Publish')", expect: 'the stages went'],
    [what: 'a Verify that ignores the version', file: 'vars/ecsVerify.groovy',
     from: 'if (body.version != tag) {', to: 'if (body.version == null) {',
     expect: 'Verify passed with the wrong version'],
    [what: 'a Verify that ignores the health path', file: 'vars/ecsVerify.groovy',
     from: 'if (health.status < 200 || health.status > 299) {', to: 'if (false) {',
     expect: 'Verify passed with the wrong health'],
    [what: 'settings read before the pipeline block', file: 'vars/ecsPipeline.groovy',
     from: "    String podYaml = libraryResource(", to: "    ecsSettings.resolve(app)\n    String podYaml = libraryResource(",
     expect: 'never offer the parameter'],
    [what: "a deploy result that is not archived", file: 'vars/ecsDeployer.groovy',
     from: 'archiveArtifacts(artifacts: file)', to: '', expect: 'was not archived'],
    [what: 'no failure summary', file: 'vars/ecsPipeline.groovy',
     from: 'echo(summary)', to: '', expect: 'no failure summary'],
    [what: 'concurrent builds allowed', file: 'vars/ecsPipeline.groovy',
     from: 'disableConcurrentBuilds()', to: '', expect: 'options has no disableConcurrentBuilds()'],
    [what: 'an unprivileged dind', file: 'resources/ecs-pipeline/pod.yaml',
     from: 'privileged: true', to: 'privileged: false', expect: 'not privileged'],
    [what: 'dind without TLS verification', file: 'resources/ecs-pipeline/pod.yaml',
     from: '- name: DOCKER_TLS_VERIFY\n          value: "1"', to: '- name: DOCKER_TLS_VERIFY\n          value: "0"',
     expect: 'DOCKER_TLS_VERIFY'],
]
for (Map mistake in mistakes) {
    test("the harness catches ${mistake.what}") {
        File copy = File.createTempDir('library', '')
        try {
            copyTree(library, copy)
            File file = new File(copy, mistake.file)
            String text = file.text
            int count = text.count(mistake.from)
            if (count != (mistake.count ?: 1)) {
                return ["the mistake's text occurs ${count} times in ${mistake.file}, expected ${mistake.count ?: 1}".toString()]
            }
            file.text = text.replace(mistake.from, mistake.to)
            List<String> found = new PipelineChecks(runner, new File(copy, 'service-a.Jenkinsfile'), copy,
                'service-a').problems()
            return expectProblems(found, [mistake.expect])
        } finally {
            copy.deleteDir()
        }
    }
}

println "${passed} passed, ${failed} failed"
System.exit(failed ? 1 : 0)
