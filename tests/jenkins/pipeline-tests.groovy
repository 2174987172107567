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

// ---- the deployer image job (jenkins/deployer.Jenkinsfile)

File deployerJob = new File(library, 'deployer.Jenkinsfile')
String deployerRepository = "${PipelineChecks.VARIABLES.ECR_REGISTRY}/ecs-pipeline-deployer"
// The runner needs an app for its load balancer stand-in, which this job never asks.
Closure<RunRecord> deployerRun = { Map settings ->
    Map all = [name: 'deployer image',
               folderEnvironment: PipelineChecks.VARIABLES + [DEPLOYER_IMAGE: PipelineChecks.DEPLOYER_IMAGE]]
    return runner.run(deployerJob, library, 'service-a', new Scenario(all + settings))
}
Closure<List<String>> imageCommands = { RunRecord run ->
    return run.invocationsOf('deployer').collect { Map call ->
        List<String> argv = call.argv
        String repository = argv.contains('--repository') ? argv[argv.indexOf('--repository') + 1] : argv[1]
        String tag = argv.contains('--tag') ? argv[argv.indexOf('--tag') + 1] : ''
        "${argv[0]} ${repository}:${tag}${argv.contains('--skip-existing') ? ' --skip-existing' : ''}".toString()
    }
}
List<String> scmTrigger = ['hudson.triggers.SCMTrigger$SCMTriggerCause']

test('the deployer image job builds and pushes only when deployer\'s sources change') {
    List<String> problems = []
    RunRecord other = deployerRun(causes: scmTrigger, changedPaths: ['service-a/src/main.rs', 'config/service-a.json'])
    if (other.result != 'SUCCESS' || other.invocationsOf('deployer')) {
        problems << "a change to service-a alone: ${other.result} (${other.error}), deployer ran ${imageCommands(other)}".toString()
    }
    // Every crate Dockerfile.deployer copies whole into its build is one of
    // deployer's sources: read from the Dockerfile, so that a crate added
    // there and not to ecsDeployerImage.sources() fails here.
    List<String> copiedCrates = new File(repoRoot, 'Dockerfile.deployer').readLines()
        .findAll { it ==~ /COPY (?!--)\S+ \S+/ }
        .collect { it.split(/\s+/)[1] }
        .findAll { new File(repoRoot, it).isDirectory() }
        .collect { "${it}/src/lib.rs".toString() }
    if (!copiedCrates.contains('deployer/src/lib.rs')) {
        problems << "Dockerfile.deployer's crates were not read: ${copiedCrates}".toString()
    }
    for (String path in ['deployer/src/cli.rs', 'config/src/app.rs', 'telemetry/src/lib.rs', 'Cargo.lock',
                         'Dockerfile.deployer'] + copiedCrates) {
        RunRecord run = deployerRun(causes: scmTrigger, changedPaths: [path])
        List<String> expected = ['build ecs-pipeline-deployer:c0ffee1 --skip-existing',
                                 'push ecs-pipeline-deployer:c0ffee1 --skip-existing']
        if (run.result != 'SUCCESS' || imageCommands(run) != expected) {
            problems << "a change to ${path}: ${run.result} (${run.error}), deployer ran ${imageCommands(run)}, expected ${expected}".toString()
        }
        List gitLog = run.invocationsOf('git', 'log')
        if (!gitLog || !gitLog[0].argv.containsAll(['deployer/', 'Cargo.lock', 'Dockerfile.deployer'])) {
            problems << "the tag is not the last commit of deployer's sources: git ran ${run.invocationsOf('git')*.argv}".toString()
        }
    }
    return problems
}

test('the deployer image job reports the digest to pin, and a rerun skips build and push') {
    List<String> problems = []
    File registry = File.createTempDir('deployer-registry', '')
    try {
        RunRecord first = deployerRun(registryDir: registry)
        String pinned = "DEPLOYER_IMAGE=${deployerRepository}@sha256:"
        if (first.result != 'SUCCESS' || !first.description?.contains(pinned) || !first.echoes.any { it.contains(pinned) }) {
            problems << "first build: ${first.result} (${first.error}), description '${first.description}', expected it to name ${pinned}<digest>".toString()
        }
        if (first.registryEvents != ["build built ${deployerRepository}:c0ffee1", "push pushed ${deployerRepository}:c0ffee1"]*.toString()) {
            problems << "first build: the registry saw ${first.registryEvents}".toString()
        }
        RunRecord rerun = deployerRun(registryDir: registry)
        List<String> skipped = ["build skipped ${deployerRepository}:c0ffee1", "push skipped ${deployerRepository}:c0ffee1"]*.toString()
        // The registry's event log is shared with the first build.
        List<String> rerunEvents = rerun.registryEvents.drop(first.registryEvents.size())
        if (rerun.result != 'SUCCESS' || rerunEvents != skipped) {
            problems << "rerun: ${rerun.result} (${rerun.error}), the registry saw ${rerunEvents}, expected ${skipped}".toString()
        }
        if (!rerun.description?.contains('already pushed')) {
            problems << "rerun: description '${rerun.description}' does not say the image was already pushed".toString()
        }
    } finally {
        registry.deleteDir()
    }
    return problems
}

// ---- broken Jenkinsfiles

test('a Jenkinsfile that names the wrong app fails the harness') {
    List<String> found = new PipelineChecks(runner, new File(here, 'fixtures/wrong-app.Jenkinsfile'), library,
        'service-a').problems()
    expectProblems(found, ["was called for 'service-b', expected 'service-a'", "cargo test -p service-a"])
}
test('a pipeline of its own that deploys before it pushes, without --result-file or tests, fails the harness') {
    List<String> found = new PipelineChecks(runner, new File(here, 'fixtures/out-of-order.Jenkinsfile'), library,
        'service-a').problems()
    expectProblems(found, ['the stages went', 'without --result-file', "Test did not run the app's tests"])
}

test('a Jenkinsfile that loads a branch of the library fails the harness') {
    List<String> found = new PipelineChecks(runner, new File(here, 'fixtures/other-branch.Jenkinsfile'), library,
        'service-a').problems(['a build of the checked-out commit'])
    expectProblems(found, ['Version override not permitted for library ecs-pipeline'])
}
test("a README configuration that allows version overrides fails the harness") {
    File readme = File.createTempFile('README', '.md')
    try {
        String text = new File(library, 'README.md').text
        if (text.count('allowVersionOverride: false') != 1) {
            return ['the README does not set allowVersionOverride: false exactly once']
        }
        readme.text = text.replace('allowVersionOverride: false', 'allowVersionOverride: true')
        List<String> found = LibraryConfig.fromReadme(readme).problems('ecs-pipeline', PipelineRunner.LIBRARY_PATH)
        return expectProblems(found, ['allows version overrides'])
    } finally {
        readme.delete()
    }
}

// ---- planted mistakes in a copy of the library

// The problems `check` finds in a copy of the library with one planted
// change: `change.from` replaced by `change.to` in `change.file`. The text
// must stand there `change.count` times (once by default); when it does
// not, that is the test's problem, and `check` does not run.
Closure<List<String>> planted = { String kind, Map change, Closure<List<String>> check ->
    File copy = File.createTempDir('library', '')
    try {
        copyTree(library, copy)
        File file = new File(copy, change.file)
        String text = file.text
        int expected = change.count ?: 1
        int count = text.count(change.from)
        if (count != expected) {
            return ["the ${kind}'s text occurs ${count} times in ${change.file}, expected ${expected}".toString()]
        }
        file.text = text.replace(change.from, change.to)
        return check.call(copy)
    } finally {
        copy.deleteDir()
    }
}

List<Map> mistakes = [
    [what: 'deploy without --result-file', scenario: 'a build of the checked-out commit', file: 'vars/ecsDeployer.groovy',
     from: "'--timeout', '15m', '--result-file', resultFile(),", to: "'--timeout', '15m',",
     expect: 'without --result-file'],
    [what: 'a tag that is not the git SHA', scenario: 'a build of the checked-out commit', file: 'vars/ecsPipeline.groovy',
     from: 'state.tag = sha.trim()', to: "state.tag = 'latest'", expect: "--tag is 'latest'"],
    [what: 'a push to another registry', scenario: 'a build of the checked-out commit', file: 'vars/ecsDeployer.groovy',
     from: "List args = ['push', settings.app, '--tag', tag, '--registry', settings.registry,",
     to: "List args = ['push', settings.app, '--tag', tag, '--registry', 'docker.io',",
     expect: "push --registry is 'docker.io'"],
    [what: 'an image from another repository', scenario: 'a build of the checked-out commit', file: 'vars/ecsApp.groovy',
     from: 'return config.deploy?.repository ?: config.app', to: "return 'ecs-pipeline'",
     expect: 'deploy --image is'],
    [what: 'a failed rollout that does not fail the build', scenario: 'a rollout that fails', file: 'vars/ecsPipeline.groovy',
     from: 'ecsDeployer.requireSuccess(app, state.deploy)', to: '',
     expect: "a deploy that ended 'failed' did not fail the build"],
    [what: 'IMAGE_TAG that still builds and pushes', scenario: 'IMAGE_TAG set', file: 'vars/ecsPipeline.groovy',
     from: "expression { state.scope.run && !state.settings.imageTag }\n                }\n                options {",
     to: "expression { state.scope.run }\n                }\n                options {",
     expect: 'IMAGE_TAG is set, yet deployer build ran'],
    [what: 'IMAGE_TAG that still runs the tests', scenario: 'IMAGE_TAG set', file: 'vars/ecsPipeline.groovy',
     from: "expression { state.scope.run && !state.settings.imageTag }\n                }\n                agent {",
     to: "expression { state.scope.run }\n                }\n                agent {",
     expect: 'IMAGE_TAG is set, yet cargo ran'],
    [what: 'IMAGE_TAG left in deployer\'s environment', scenario: 'IMAGE_TAG set', file: 'vars/ecsDeployer.groovy',
     from: "'env -u IMAGE_TAG deployer '", to: "'deployer '",
     expect: 'saw IMAGE_TAG'],
    [what: 'stages out of order', scenario: 'a build of the checked-out commit', file: 'vars/ecsPipeline.groovy',
     from: "stage('Push')", to: "stage('Publish')", expect: 'the stages went'],
    [what: 'a Verify that ignores the version', scenario: 'the old version still served', file: 'vars/ecsVerify.groovy',
     from: 'if (body.version != tag) {', to: 'if (body.version == null) {',
     expect: 'Verify passed with the wrong version'],
    [what: 'a Verify that ignores the health path', scenario: 'an unhealthy health path', file: 'vars/ecsVerify.groovy',
     from: 'if (health.status < 200 || health.status > 299) {', to: 'if (false) {',
     expect: 'Verify passed with the wrong health'],
    [what: 'a Verify that tries once', scenario: 'the old version still served', file: 'vars/ecsVerify.groovy',
     from: 'int attempts = (int) Math.ceil(deadline / (double) pauseSeconds()) + 1', to: 'int attempts = 1',
     expect: 'Verify gave up after waiting 0s'],
    [what: 'a Verify failure without a rollback', scenario: 'the old version still served', file: 'vars/ecsPipeline.groovy',
     from: 'ecsDeployer.runRollback(state.settings, state.rollback)', to: '',
     expect: 'a failed Verify should run deployer rollback once'],
    [what: 'an empty body read as JSON', scenario: 'an empty body', file: 'vars/ecsVerify.groovy',
     from: 'if (!answer.body.trim()) {', to: 'if (false) {',
     expect: "an empty body: the build's error does not name [empty body"],
    [what: 'settings read before the pipeline block', scenario: 'a missing setting', file: 'vars/ecsPipeline.groovy',
     from: "    String testPod = ecsPods.test()", to: "    ecsSettings.resolve(app)\n    String testPod = ecsPods.test()",
     expect: 'never offer the parameter'],
    [what: "a deploy result that is not archived", scenario: 'a build of the checked-out commit', file: 'vars/ecsDeployer.groovy',
     from: 'archiveArtifacts(artifacts: file)', to: '', expect: 'was not archived'],
    [what: 'a summary only on failure', scenario: 'an abort during Deploy', file: 'vars/ecsPipeline.groovy',
     from: 'unsuccessful {', to: 'failure {', expect: 'no summary naming [ABORTED'],
    [what: 'an interrupted deploy whose result is lost', scenario: 'an abort during Deploy', file: 'vars/ecsDeployer.groovy',
     from: 'into.putAll(readResult(app, file, status))', to: 'if (status >= 0) { into.putAll(readResult(app, file, status)) }',
     expect: "no summary naming [ABORTED, Deploy, interrupted (exit 9)"],
    [what: 'a push without --skip-existing', scenario: 'a rerun of a built commit', file: 'vars/ecsDeployer.groovy',
     from: "'--region', settings.region, '--skip-existing']\n    require(settings.app, 'push'",
     to: "'--region', settings.region]\n    require(settings.app, 'push'",
     expect: 'a rerun of a built commit: the build ended FAILURE'],
    [what: 'a skipped Image stage that waits for its lock', scenario: 'IMAGE_TAG set', file: 'vars/ecsPipeline.groovy',
     from: "// stage never waits for another build's lock.\n                when {\n                    beforeOptions true\n",
     to: "// stage never waits for another build's lock.\n                when {\n",
     expect: 'yet the build asked for the locks'],
    [what: 'settings read outside withFolderProperties', scenario: 'settings from folder variables',
     file: 'vars/ecsPipeline.groovy',
     from: "withFolderProperties {\n                            state.settings = ecsSettings.resolve(app)\n                        }",
     to: 'state.settings = ecsSettings.resolve(app)', expect: 'no value for'],
    [what: 'concurrent deploys', scenario: 'a build of the checked-out commit', file: 'vars/ecsPipeline.groovy',
     from: 'lock(resource: "ecs-pipeline-deploy-${app}")', to: '',
     expect: 'without the app\'s deploy lock'],
    [what: 'a scaled-to-zero deploy that is verified', scenario: 'a service scaled to zero', file: 'vars/ecsPipeline.groovy',
     from: "expression { state.deploy.outcome != 'scaled_to_zero' }", to: 'expression { true }',
     expect: 'Verify ran against a service with no task'],
    [what: 'a pipeline deploying on every commit', scenario: 'a push of another app\'s files', file: 'vars/ecsScope.groovy',
     from: "return [run: false, why:", to: "return [run: true, why:",
     expect: 'a change to'],
    [what: 'tests in the pod with the deploy credentials', scenario: 'a build of the checked-out commit', file: 'resources/ecs-pipeline/test-pod.yaml',
     from: '  automountServiceAccountToken: false\n', to: '  serviceAccountName: ecs-pipeline-deployer\n',
     expect: 'must not run beside the deploy credentials'],
    [what: 'cargo jobs that ignore the CPU limit', scenario: 'a build of the checked-out commit', file: 'resources/ecs-pipeline/test-pod.yaml',
     from: '- name: CARGO_BUILD_JOBS\n          value: "2"', to: '- name: CARGO_BUILD_JOBS\n          value: "8"',
     expect: 'not the CPU limit'],
    [what: 'a container without limits', scenario: 'a build of the checked-out commit', file: 'resources/ecs-pipeline/deploy-pod.yaml',
     from: '        limits:\n          cpu: 500m\n          memory: 512Mi\n          ephemeral-storage: 256Mi\n', to: '',
     expect: 'has no limits for cpu, memory, ephemeral-storage'],
    [what: 'an unprivileged dind', scenario: 'a build of the checked-out commit', file: 'resources/ecs-pipeline/build-pod.yaml',
     from: 'privileged: true', to: 'privileged: false', expect: 'not privileged'],
    [what: 'dind without TLS verification', scenario: 'a build of the checked-out commit', file: 'resources/ecs-pipeline/build-pod.yaml',
     from: '- name: DOCKER_TLS_VERIFY\n          value: "1"', to: '- name: DOCKER_TLS_VERIFY\n          value: "0"',
     expect: 'DOCKER_TLS_VERIFY'],
    [what: 'a Docker data root that is thrown away', scenario: 'a build of the checked-out commit', file: 'resources/ecs-pipeline/build-pod.yaml',
     from: '      persistentVolumeClaim:\n        claimName: ecs-pipeline-docker-@APP@', to: '      emptyDir: {}',
     expect: 'no layer is cached'],
]
for (Map mistake in mistakes) {
    test("the harness catches ${mistake.what}") {
        planted('mistake', mistake) { File copy ->
            // The scenario that shows the mistake, for speed; the variants
            // below run every scenario.
            List<String> found = new PipelineChecks(runner, new File(copy, 'service-a.Jenkinsfile'), copy,
                'service-a').problems([mistake.scenario])
            return expectProblems(found, [mistake.expect])
        }
    }
}

// ---- variants that no check was written for

// Mistakes of the kind a review finds, none of which has an assertion of its
// own: every scenario runs, and the harness must fail the variant by what
// the pods, the fake tools and the stand-ins do. What caught each is shown.
List<Map> variants = [
    [what: "Verify's requests moved to the jnlp container", file: 'vars/ecsVerify.groovy',
     from: "    container('deployer') {\n        // The status goes", to: "    container('jnlp') {\n        // The status goes"],
    [what: "the tests moved to the jnlp container", file: 'vars/ecsPipeline.groovy',
     from: "container('rust') {\n                            String test", to: "container('jnlp') {\n                            String test"],
    [what: 'Build & tag and Push given the Test pod', file: 'vars/ecsPipeline.groovy',
     from: 'yaml buildPod', to: 'yaml testPod'],
]
for (Map variant in variants) {
    test("the harness fails a variant it has no check for: ${variant.what}") {
        planted('variant', variant) { File copy ->
            List<String> found = new PipelineChecks(runner, new File(copy, 'service-a.Jenkinsfile'), copy,
                'service-a').problems()
            if (!found) {
                return ['every scenario passed']
            }
            println "    caught by ${found.size()} problems, such as: ${found.take(2).join(' | ').take(400)}"
            return []
        }
    }
}

println "${passed} passed, ${failed} failed"
System.exit(failed ? 1 : 0)
