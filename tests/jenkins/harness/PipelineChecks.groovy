/**
 * What an app's pipeline must do, as scenarios run through PipelineRunner,
 * each returning the problems it found. No problems: the pipeline passes.
 */
class PipelineChecks {
    /** Every stage, in order: the groups Image and Roll out hold the two after each. */
    static final List<String> STAGES = ['Settings', 'Test', 'Image', 'Build & tag', 'Push', 'Roll out', 'Deploy', 'Verify']
    static final List<String> OPTIONS = ['timeout', 'buildDiscarder', 'timestamps']
    static final List<String> STATIC_KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']
    /** The prebuilt deployer, pinned by digest (the job's DEPLOYER_IMAGE). */
    static final String DEPLOYER_IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/ecs-pipeline-deployer@sha256:' +
        '4f1c0ffee4f1c0ffee4f1c0ffee4f1c0ffee4f1c0ffee4f1c0ffee4f1c0ffee1'
    /** The settings as build parameters. */
    static final Map<String, String> PARAMETERS = [
        ENVIRONMENT: 'staging',
        REGION: 'eu-west-1',
        CLUSTER: 'ecs-pipeline-staging',
        REGISTRY: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
        LOAD_BALANCER_URL: Scenario.ALB_URL,
    ]
    /** The same settings as the job's environment variables. */
    static final Map<String, String> VARIABLES = [
        DEPLOY_ENV: 'production',
        AWS_REGION: 'us-east-2',
        ECS_CLUSTER: 'ecs-pipeline-production',
        ECR_REGISTRY: '210987654321.dkr.ecr.us-east-2.amazonaws.com',
        ALB_URL: Scenario.ALB_URL,
    ]
    /** Where PARAMETERS and VARIABLES deploy to, in the words of the checks. */
    static final Map<String, String> FROM_PARAMETERS = [
        registry: PARAMETERS.REGISTRY, cluster: PARAMETERS.CLUSTER,
        region: PARAMETERS.REGION, environment: PARAMETERS.ENVIRONMENT,
    ]
    static final Map<String, String> FROM_VARIABLES = [
        registry: VARIABLES.ECR_REGISTRY, cluster: VARIABLES.ECS_CLUSTER,
        region: VARIABLES.AWS_REGION, environment: VARIABLES.DEPLOY_ENV,
    ]
    static final String ROLLOUT_FAILURE = 'deployment ecs-svc/5550001 failed: 2 tasks stopped ' +
        '(Essential container in task exited); the circuit breaker rolled the service back to revision 41'
    static final String SCM_TRIGGER = 'hudson.triggers.SCMTrigger$SCMTriggerCause'

    final PipelineRunner runner
    final File jenkinsfile
    final File libraryDir
    final String app
    final Map appConfig

    PipelineChecks(PipelineRunner runner, File jenkinsfile, File libraryDir, String app) {
        this.runner = runner
        this.jenkinsfile = jenkinsfile
        this.libraryDir = libraryDir
        this.app = app
        this.appConfig = AppFacts.load(runner.repoRoot, app)
    }

    /**
     * Every scenario's problems, each prefixed with the scenario's name; or
     * only those of the scenarios named in `only`.
     */
    List<String> problems(List<String> only = null) {
        Map<String, Closure<List<String>>> scenarios = [
            'the Jenkinsfile': this.&jenkinsfileText,
            'a build of the checked-out commit': this.&buildsAndDeploysCommit,
            'settings from the environment': this.&settingsFromEnvironment,
            'settings from folder variables': this.&settingsFromFolder,
            'a rerun of a built commit': this.&rerun,
            'tests that fail': this.&testsFail,
            'a build that fails': this.&buildFails,
            'a push that fails': this.&pushFails,
            'a rollout that fails': this.&failedRollout,
            'deployer writing no result': this.&deployerWithoutResult,
            'IMAGE_TAG set': this.&redeploysImageTag,
            'an abort during Deploy': this.&abortedDeploy,
            'the timeout during Test': this.&timedOut,
            'the old version still served': this.&oldVersionServed,
            'an unhealthy health path': this.&unhealthy,
            'a health path that recovers': this.&recovers,
            'a load balancer that does not answer': this.&noAnswer,
            'an empty body': this.&emptyBody,
            'a body that is not JSON': this.&notJson,
            'a service scaled to zero': this.&scaledToZero,
            'a missing setting': this.&missingSetting,
            'no deployer image': this.&noDeployerImage,
            'a deployer image by tag': this.&deployerImageByTag,
            'a push of another app\'s files': this.&otherAppsChange,
            'a push of a shared crate': this.&sharedCrateChange,
        ]
        List<String> found = []
        List<String> unknown = (only ?: []).findAll { !scenarios.containsKey(it) }
        if (unknown) {
            throw new IllegalArgumentException("no scenarios named ${unknown}")
        }
        scenarios.findAll { only == null || it.key in only }.each { String name, Closure<List<String>> scenario ->
            found.addAll(scenario.call().collect { "${name}: ${it}".toString() })
        }
        return found
    }

    // ---- scenarios

    List<String> jenkinsfileText() {
        List<String> problems = []
        if (!(jenkinsfile.text =~ /@Library\('ecs-pipeline(@[^']+)?'\)/)) {
            problems << "${jenkinsfile.name} does not load the shared library with @Library('ecs-pipeline')"
        }
        problems.addAll(runner.library.problems('ecs-pipeline', PipelineRunner.LIBRARY_PATH))
        return problems
    }

    List<String> buildsAndDeploysCommit() {
        Scenario scenario = rollingOut([:])
        RunRecord run = run(scenario)
        List<String> problems = succeeded(run, scenario)
        problems.addAll(stages(run, STAGES.collectEntries { [(it): 'ran'] }))
        problems.addAll(testsRan(run))
        Map git = run.invocationsOf('git').find { it.argv[0] == 'rev-parse' }
        if (git == null || git.env.STAGE_NAME != 'Build & tag') {
            problems << 'Build & tag did not ask git for the short SHA (git rev-parse --short HEAD)'
        }
        problems.addAll(builtPushedDeployed(run, scenario.gitSha, FROM_PARAMETERS))
        List<String> events = run.registryEvents.collect { it.split(' ')[0..1].join(' ') }
        if (events != ['build built', 'push pushed']) {
            problems << "a first build should build and push the image, the registry saw ${run.registryEvents}".toString()
        }
        problems.addAll(verified(run))
        if (run.pipeline != null && !run.pipeline.triggers) {
            problems << 'the pipeline declares no trigger: no commit would ever build it'
        }
        return problems
    }

    List<String> settingsFromEnvironment() {
        Scenario scenario = rollingOut(params: [:], jobEnvironment: VARIABLES)
        RunRecord run = run(scenario)
        List<String> problems = succeeded(run, scenario)
        problems.addAll(builtPushedDeployed(run, scenario.gitSha, FROM_VARIABLES))
        return problems
    }

    /** Every setting, the deployer image included, on the folder (folder-properties). */
    List<String> settingsFromFolder() {
        Scenario scenario = rollingOut(params: [:], jobEnvironment: [:],
            folderEnvironment: VARIABLES + [DEPLOYER_IMAGE: DEPLOYER_IMAGE])
        RunRecord run = run(scenario, false)
        List<String> problems = succeeded(run, scenario, DEPLOYER_IMAGE)
        problems.addAll(builtPushedDeployed(run, scenario.gitSha, FROM_VARIABLES))
        return problems
    }

    /** A deploy that failed, then the same commit again (Build Now): it must not rebuild nor fail at Push. */
    List<String> rerun() {
        File registry = File.createTempDir('registry', '')
        try {
            Scenario first = new Scenario(params: PARAMETERS, deployExit: 4, registryDir: registry,
                deployResult: report('failed', 4, ROLLOUT_FAILURE, "${app}:41"))
            RunRecord failed = run(first)
            if (failed.result != 'FAILURE' || failed.registryEvents.count { it.startsWith('push pushed') } != 1) {
                return ["the first run should push and fail at Deploy: ${failed.result}, ${failed.registryEvents}".toString()]
            }
            // A fresh pod and engine: only the registry remembers the image.
            Scenario again = rollingOut(registryDir: registry)
            RunRecord rerun = run(again)
            List<String> problems = succeeded(rerun, again)
            List<String> events = rerun.registryEvents.drop(failed.registryEvents.size())
            String image = "${PARAMETERS.REGISTRY}/${app}:${again.gitSha}"
            if (events != ["build skipped ${image}", "push skipped ${image}"]*.toString()) {
                problems << "the rerun of ${again.gitSha} should skip build and push, the registry saw ${events}".toString()
            }
            problems.addAll(deployCommand(rerun, again.gitSha, FROM_PARAMETERS))
            return problems
        } finally {
            registry.deleteDir()
        }
    }

    List<String> testsFail() {
        return failsBeforeDeploy([testExit: 101], 'Test', ['exit code 101'], 'the tests failed', [null])
    }

    List<String> buildFails() {
        return failsBeforeDeploy([buildExit: 1], 'Build & tag', ['deployer build', 'exit 1'], 'the build failed',
            ['push', 'deploy'])
    }

    List<String> pushFails() {
        return failsBeforeDeploy([pushExit: 4], 'Push', ['deployer push', 'exit 4'], 'the push failed', ['deploy'])
    }

    List<String> failedRollout() {
        Scenario scenario = new Scenario(params: PARAMETERS, deployExit: 4,
            deployResult: report('failed', 4, ROLLOUT_FAILURE, "${app}:41"))
        RunRecord run = run(scenario)
        List<String> problems = common(run, scenario)
        problems.addAll(failedAtDeploy(run, 'failed', ROLLOUT_FAILURE))
        if (!run.archived.values().any { it.contains(ROLLOUT_FAILURE) }) {
            problems << "the failed rollout's JSON result was not archived"
        }
        return problems
    }

    List<String> deployerWithoutResult() {
        Scenario scenario = new Scenario(params: PARAMETERS, deployExit: 2, deployResult: null)
        RunRecord run = run(scenario)
        List<String> problems = common(run, scenario)
        problems.addAll(failedAtDeploy(run, 'exit 2', ''))
        return problems
    }

    /** A rollback to a known tag: no Test, no Image, no cargo, no engine; Deploy and Verify only. */
    List<String> redeploysImageTag() {
        String tag = 'v1.4.2'
        Scenario scenario = rollingOut(params: PARAMETERS + [IMAGE_TAG: tag], testExit: 101)
        RunRecord run = run(scenario)
        List<String> problems = succeeded(run, scenario)
        problems.addAll(stages(run, [Settings: 'ran', Test: 'skipped', Image: 'skipped', 'Build & tag': 'skipped',
                                     Push: 'skipped', 'Roll out': 'ran', Deploy: 'ran', Verify: 'ran']))
        ['build', 'push'].each { String command ->
            if (run.invocationsOf('deployer', command)) {
                problems << "IMAGE_TAG is set, yet deployer ${command} ran".toString()
            }
        }
        if (run.invocationsOf('cargo') || run.shellSteps.any { it.script =~ /\bcargo\b/ }) {
            problems << "IMAGE_TAG is set, yet cargo ran: ${run.invocationsOf('cargo')*.argv}".toString()
        }
        List<String> imageLocks = run.lockRequests.findAll { it.stage != 'Roll out' }*.resource
        if (imageLocks) {
            problems << "IMAGE_TAG is set, yet the build asked for the locks ${imageLocks} of stages it skips".toString()
        }
        List<Map> heavy = run.pods.findAll { Map started ->
            started.pod?.spec?.containers?.any { it.image?.toString()?.startsWith('rust:') || it.securityContext?.privileged }
        }
        if (heavy) {
            problems << "IMAGE_TAG is set, yet the build asked for pods with a compiler or an engine: ${heavy*.label}".toString()
        }
        problems.addAll(deployCommand(run, tag, FROM_PARAMETERS))
        problems.addAll(verified(run))
        return problems
    }

    List<String> abortedDeploy() {
        String message = 'received SIGTERM: rolled the service back to revision 41'
        Scenario scenario = new Scenario(params: PARAMETERS, deployExit: 9, interrupt: [stage: 'Deploy', cause: 'abort'],
            deployResult: report('interrupted', 9, message, "${app}:41"))
        RunRecord run = run(scenario)
        List<String> problems = common(run, scenario)
        if (run.result != 'ABORTED') {
            return problems + ["an aborted build ended ${run.result}, expected ABORTED".toString()]
        }
        problems.addAll(summarised(run, ['ABORTED', 'Deploy', 'interrupted (exit 9)', message]))
        if (!run.archived.values().any { it.contains(message) }) {
            problems << "the interrupted deploy's JSON result was not archived"
        }
        return problems
    }

    List<String> timedOut() {
        Scenario scenario = rollingOut(interrupt: [stage: 'Test', cause: 'timeout'])
        RunRecord run = run(scenario)
        List<String> problems = common(run, scenario)
        if (run.result != 'ABORTED') {
            return problems + ["a timed-out build ended ${run.result}, expected ABORTED".toString()]
        }
        problems.addAll(summarised(run, ['TIMED OUT', 'Test', 'deployer deploy: not run']))
        if (run.invocationsOf('deployer')) {
            problems << 'deployer ran after the timeout'
        }
        return problems
    }

    List<String> oldVersionServed() {
        Scenario scenario = rollingOut(servedVersion: '0ld0ld0')
        return failedVerify(scenario, 'version', ['0ld0ld0', scenario.gitSha])
    }

    List<String> unhealthy() {
        return failedVerify(rollingOut(healthStatus: 503), 'health', ['503', AppFacts.healthPath(appConfig)])
    }

    List<String> noAnswer() {
        return failedVerify(rollingOut(curlFails: true), 'no answer', ['no answer', AppFacts.healthPath(appConfig)])
    }

    List<String> emptyBody() {
        return failedVerify(rollingOut(serviceBody: ''), 'an empty body', ['empty body', AppFacts.microservicePath(appConfig)])
    }

    List<String> notJson() {
        return failedVerify(rollingOut(serviceBody: '<html>Bad gateway</html>'), 'a body that is not JSON',
            ['not JSON', '<html>Bad gateway</html>'])
    }

    /** Two failed probes, then healthy: Verify waits instead of failing. */
    List<String> recovers() {
        Scenario scenario = rollingOut(healthFailures: 2)
        RunRecord run = run(scenario)
        List<String> problems = succeeded(run, scenario)
        if (run.albRequests.count { it == AppFacts.healthPath(appConfig) } != 3) {
            problems << "Verify should retry the health path until it recovers (3 requests): ${run.albRequests}".toString()
        }
        if (run.invocationsOf('deployer', 'rollback')) {
            problems << 'deployer rollback ran although Verify passed'
        }
        return problems
    }

    List<String> scaledToZero() {
        String message = 'desiredCount is 0: the service points at revision 42, and no task runs to verify it'
        Scenario scenario = rollingOut(deployResult: report('scaled_to_zero', 0, message))
        RunRecord run = run(scenario)
        List<String> problems = common(run, scenario)
        if (run.result != 'UNSTABLE') {
            problems << "a deploy scaled to zero ended ${run.result}, expected UNSTABLE".toString()
        }
        problems.addAll(stages(run, STAGES.collectEntries { [(it): it == 'Verify' ? 'skipped' : it == 'Deploy' ? 'unstable' : 'ran'] }))
        if (run.albRequests) {
            problems << "Verify ran against a service with no task: ${run.albRequests}".toString()
        }
        problems.addAll(summarised(run, ['UNSTABLE', 'scaled_to_zero', message]))
        return problems
    }

    List<String> missingSetting() {
        Scenario scenario = rollingOut(params: PARAMETERS.findAll { it.key != 'CLUSTER' })
        RunRecord run = run(scenario)
        List<String> problems = []
        if (!run.pipeline?.parameters?.any { it.name == 'CLUSTER' }) {
            problems << 'the build failed before its pipeline block declared the parameters, ' +
                'so Jenkins would never offer the parameter that is missing'
        }
        problems.addAll(failedEarly(run, ['CLUSTER', 'ECS_CLUSTER']))
        return problems
    }

    List<String> noDeployerImage() {
        return failedEarly(run(rollingOut(jobEnvironment: [DEPLOYER_IMAGE: ''])), ['DEPLOYER_IMAGE'])
    }

    List<String> deployerImageByTag() {
        String image = DEPLOYER_IMAGE.replaceAll(/@sha256:.*/, ':latest')
        return failedEarly(run(rollingOut(jobEnvironment: [DEPLOYER_IMAGE: image])), ['DEPLOYER_IMAGE', 'digest', image])
    }

    /** A push that changes only the other app: nothing runs, no pod starts. */
    List<String> otherAppsChange() {
        String other = app == 'service-a' ? 'service-b' : 'service-a'
        Scenario scenario = rollingOut(causes: [SCM_TRIGGER], changedPaths: ["${other}/src/main.rs".toString(),
                                                                             "config/${other}.json".toString(), 'README.md'])
        RunRecord run = run(scenario)
        List<String> problems = succeeded(run, scenario)
        if (run.pods || run.invocations) {
            problems << "a change to ${other} alone started pods ${run.pods*.label} and ran ${run.invocations*.tool}".toString()
        }
        return problems
    }

    /** A push that changes service-core: the app is tested, built and deployed. */
    List<String> sharedCrateChange() {
        Scenario scenario = rollingOut(causes: [SCM_TRIGGER], changedPaths: ['service-core/src/lib.rs'])
        RunRecord run = run(scenario)
        List<String> problems = succeeded(run, scenario)
        problems.addAll(stages(run, STAGES.collectEntries { [(it): 'ran'] }))
        return problems
    }

    // ---- assertions shared by the scenarios

    private RunRecord run(Scenario scenario, boolean withDeployerImage = true) {
        if (withDeployerImage && !scenario.jobEnvironment.containsKey('DEPLOYER_IMAGE')) {
            scenario.jobEnvironment = scenario.jobEnvironment + [DEPLOYER_IMAGE: DEPLOYER_IMAGE]
        }
        return runner.run(jenkinsfile, libraryDir, app, scenario)
    }

    /** What every run that got as far as the pipeline block must show. */
    private List<String> common(RunRecord run, Scenario scenario, String deployerImage = null) {
        List<String> problems = []
        if (run.pipeline == null) {
            return ["the pipeline block never ran (error: ${run.error})".toString()]
        }
        List<String> options = run.pipeline.options*.name
        OPTIONS.findAll { !(it in options) }.each { problems << "options has no ${it}()".toString() }
        if ('disableConcurrentBuilds' in options) {
            problems << 'options has disableConcurrentBuilds(): a rollback would wait for a running build'
        }
        List<String> declared = run.pipeline.parameters*.name
        (scenario.params.keySet() + ['IMAGE_TAG']).findAll { !(it in declared) }.each {
            problems << "the parameter ${it} is not declared in parameters {}".toString()
        }
        problems.addAll(PodChecks.problems(run, deployerImage ?: scenario.jobEnvironment.DEPLOYER_IMAGE))
        if (run.credentialBindings) {
            problems << "withCredentials binds ${run.credentialBindings}: credentials come from the service account only"
        }
        for (Map call in run.invocations) {
            STATIC_KEYS.findAll { call.env.containsKey(it) }.each {
                problems << "${call.tool} ${call.argv[0]} ran with ${it} set: no static keys".toString()
            }
        }
        for (Map call in run.invocationsOf('cargo')) {
            if (call.argv[0] != 'test' || call.env.STAGE_NAME != 'Test') {
                problems << "cargo ${call.argv.join(' ')} ran in stage ${call.env.STAGE_NAME}: only Test runs cargo, and only cargo test".toString()
            }
        }
        for (Map call in run.invocationsOf('deployer')) {
            if (call.argv[1] != app) {
                problems << "deployer ${call.argv[0]} was called for '${call.argv[1]}', expected '${app}'".toString()
            }
            if (call.env.containsKey('IMAGE_TAG')) {
                problems << "deployer ${call.argv[0]} saw IMAGE_TAG=${call.env.IMAGE_TAG}, which deployer reads as --tag".toString()
            }
        }
        // Only Roll out's stages hold the app's deploy lock, and they do.
        for (Map step in run.shellSteps) {
            boolean deployLock = step.locks.any { it.contains('deploy') && it.contains(app) }
            boolean rollingOut = step.stage in ['Deploy', 'Verify']
            if (rollingOut && !deployLock) {
                problems << "'${step.script}' ran in ${step.stage} without the app's deploy lock: two deploys could overlap".toString()
            } else if (!rollingOut && step.locks.any { it.contains('deploy') }) {
                problems << "'${step.script}' ran in ${step.stage} holding ${step.locks}: a rollback would wait for it".toString()
            }
        }
        return problems
    }

    /** A scenario where the settings are parameters and deployer's rollout completes. */
    private Scenario rollingOut(Map fields) {
        return new Scenario([params: PARAMETERS, deployResult: report('completed', 0, 'rolled out')] + fields)
    }

    /** What every run must show, and that the build succeeded. */
    private List<String> succeeded(RunRecord run, Scenario scenario, String deployerImage = null) {
        List<String> problems = common(run, scenario, deployerImage)
        if (run.result != 'SUCCESS') {
            problems << "the build ended ${run.result}: ${run.error}".toString()
        }
        return problems
    }

    private List<String> stages(RunRecord run, Map<String, String> expected) {
        List<String> actual = run.stages.collect { "${it.name}: ${it.status}".toString() }
        List<String> wanted = expected.collect { "${it.key}: ${it.value}".toString() }
        return actual == wanted ? [] : ["the stages went ${actual}, expected ${wanted}".toString()]
    }

    private List<String> testsRan(RunRecord run) {
        Map test = run.invocationsOf('cargo', 'test').find { option(it.argv, '-p') == app }
        if (test == null || test.env.STAGE_NAME != 'Test') {
            return ["Test did not run the app's tests (cargo test -p ${app})".toString()]
        }
        return []
    }

    /** deployer build, push and deploy of `tag`, to where `settings` say. */
    private List<String> builtPushedDeployed(RunRecord run, String tag, Map<String, String> settings) {
        List<String> problems = []
        problems.addAll(imageCommand(run, 'build', tag, settings.registry))
        problems.addAll(imageCommand(run, 'push', tag, settings.registry))
        problems.addAll(deployCommand(run, tag, settings))
        return problems
    }

    /** deployer build or push: once, for the app, with the tag and the registry, in its stage. */
    private List<String> imageCommand(RunRecord run, String command, String tag, String registry) {
        List<Map> calls = run.invocationsOf('deployer', command)
        if (calls.size() != 1) {
            return ["deployer ${command} ran ${calls.size()} times, expected once".toString()]
        }
        Map call = calls[0]
        List<String> problems = []
        if (option(call.argv, '--tag') != tag) {
            problems << "deployer ${command} --tag is '${option(call.argv, '--tag')}', expected the tag '${tag}'".toString()
        }
        if (option(call.argv, '--registry') != registry) {
            problems << "deployer ${command} --registry is '${option(call.argv, '--registry')}', expected '${registry}'".toString()
        }
        if (!('--skip-existing' in call.argv)) {
            problems << "deployer ${command} runs without --skip-existing: a rerun would fail on the immutable tag".toString()
        }
        String stage = command == 'build' ? 'Build & tag' : 'Push'
        if (call.env.STAGE_NAME != stage) {
            problems << "deployer ${command} ran in stage ${call.env.STAGE_NAME}, not ${stage}".toString()
        }
        if (!call.env.DOCKER_HOST?.startsWith('tcp://') || call.env.DOCKER_TLS_VERIFY != '1' || !call.env.DOCKER_CERT_PATH) {
            problems << "deployer ${command} did not get the dind sidecar over TLS: ${call.env}".toString()
        }
        return problems
    }

    /** deployer deploy: once, for the app's image in its repository, with --result-file. */
    private List<String> deployCommand(RunRecord run, String tag, Map<String, String> settings) {
        List<Map> calls = run.invocationsOf('deployer', 'deploy')
        if (calls.size() != 1) {
            return ["deployer deploy ran ${calls.size()} times, expected once".toString()]
        }
        List<String> argv = calls[0].argv
        List<String> problems = []
        String image = "${settings.registry}/${AppFacts.repository(appConfig)}:${tag}"
        Map<String, String> expected = ['--image': image, '--cluster': settings.cluster,
                                        '--region': settings.region, '--environment': settings.environment]
        expected.each { String name, String value ->
            if (option(argv, name) != value) {
                problems << "deployer deploy ${name} is '${option(argv, name)}', expected '${value}'".toString()
            }
        }
        String resultFile = option(argv, '--result-file')
        if (!resultFile) {
            problems << 'deployer deploy was called without --result-file'
        } else if (!run.archived.containsKey(resultFile)) {
            problems << "deployer's result ${resultFile} was not archived".toString()
        }
        if (calls[0].env.STAGE_NAME != 'Deploy') {
            problems << "deployer deploy ran in stage ${calls[0].env.STAGE_NAME}, not Deploy".toString()
        }
        return problems
    }

    /** One request each to the health path and a microservice path, in Verify. */
    private List<String> verified(RunRecord run) {
        List<String> problems = []
        [AppFacts.healthPath(appConfig), AppFacts.microservicePath(appConfig)].each { String path ->
            int count = run.albRequests.count { it == path }
            if (count != 1) {
                problems << "Verify requested ${path} ${count} times through the load balancer, expected once".toString()
            }
        }
        return problems
    }

    /** A build that fails in `stage`, with `named` in its error, and a summary. */
    private List<String> failedAt(RunRecord run, String stage, String ending, List<String> named) {
        if (run.result != 'FAILURE') {
            return ["a build that fails in ${stage} ended ${run.result}".toString()]
        }
        List<String> problems = []
        int at = STAGES.indexOf(stage)
        Map<String, String> expected = STAGES.collectEntries { String s ->
            int i = STAGES.indexOf(s)
            String status = i < at ? 'ran' : i == at ? 'failed' : 'not run'
            // The groups that hold the failed stage fail with it.
            if ((s == 'Image' && stage in ['Build & tag', 'Push']) || (s == 'Roll out' && stage in ['Deploy', 'Verify'])) {
                status = 'failed'
            }
            [(s): status]
        }
        problems.addAll(stages(run, expected))
        if (!named.every { run.error?.contains(it) }) {
            problems << "the build's error does not name ${named}: ${run.error}".toString()
        }
        problems.addAll(summarised(run, [ending, "stage ${stage}".toString()]))
        return problems
    }

    /** The summary, echoed and set as the description, holds every one of `parts`. */
    private List<String> summarised(RunRecord run, List<String> parts) {
        boolean echoed = run.echoes.any { String line -> parts.every { line.contains(it) } }
        if (!echoed || !parts.every { run.description?.contains(it) }) {
            return ["no summary naming ${parts}: echoed ${run.echoes}, description '${run.description}'".toString()]
        }
        return []
    }

    /**
     * A rollout in which `failure` (such as [testExit: 101]) makes `stage`
     * fail: the build fails there, its error naming each of `named`, and
     * none of the deployer commands `after` runs (null: no deployer command
     * at all); `why` is the failure, as a problem names it.
     */
    private List<String> failsBeforeDeploy(Map failure, String stage, List<String> named, String why,
                                           List<String> after) {
        Scenario scenario = rollingOut(failure)
        RunRecord run = run(scenario)
        List<String> problems = common(run, scenario)
        problems.addAll(failedAt(run, stage, 'FAILED', named))
        after.each { String command ->
            if (run.invocationsOf('deployer', command)) {
                String ran = command == null ? 'deployer' : "deployer ${command}"
                problems << "${ran} ran although ${why}".toString()
            }
        }
        return problems
    }

    private List<String> failedAtDeploy(RunRecord run, String outcome, String message) {
        if (run.result != 'FAILURE') {
            return ["a deploy that ended '${outcome}' did not fail the build".toString()]
        }
        List<String> problems = failedAt(run, 'Deploy', 'FAILED', [outcome, message])
        problems.addAll(summarised(run, ['Deploy', outcome, message]))
        if (run.invocationsOf('deployer', 'rollback')) {
            problems << 'deployer rollback ran after a failed deploy, which rolls back itself'
        }
        return problems
    }

    /**
     * Verify fails on every attempt until its deadline, then rolls back and
     * fails the build, naming the cause and the rollback's outcome.
     */
    private List<String> failedVerify(Scenario scenario, String what, List<String> named) {
        RunRecord run = run(scenario)
        List<String> problems = common(run, scenario)
        if (run.result != 'FAILURE') {
            return problems + ["Verify passed with the wrong ${what}".toString()]
        }
        problems.addAll(failedAt(run, 'Verify', 'FAILED', named))
        int waited = run.sleeps.sum(0) as int
        if (waited < deadline()) {
            problems << "Verify gave up after waiting ${waited}s, before the deadline of ${deadline()}s the health check settings give".toString()
        }
        if (run.sleeps.any { it > deadline() / 2 }) {
            problems << "Verify waits ${run.sleeps.max()}s between attempts: too few attempts before the deadline".toString()
        }
        List<Map> rollbacks = run.invocationsOf('deployer', 'rollback')
        if (rollbacks.size() != 1 || rollbacks[0].env.STAGE_NAME != 'Verify') {
            problems << "a failed Verify should run deployer rollback once, in Verify; it ran ${rollbacks.size()} times".toString()
        } else {
            Map<String, String> expected = ['--cluster': PARAMETERS.CLUSTER, '--region': PARAMETERS.REGION]
            expected.each { String name, String value ->
                if (option(rollbacks[0].argv, name) != value) {
                    problems << "deployer rollback ${name} is '${option(rollbacks[0].argv, name)}', expected '${value}'".toString()
                }
            }
        }
        problems.addAll(summarised(run, ['Verify', 'rollback', "rolled back to revision ${app}:41".toString()]))
        return problems
    }

    /** How long Verify must keep trying: health checks to pass, plus the old targets' draining. */
    private int deadline() {
        Map check = appConfig.health_check ?: [:]
        return ((check.healthy_threshold ?: 3) as int) * ((check.interval_seconds ?: 15) as int) +
            ((check.timeout_seconds ?: 5) as int) + ((appConfig.deploy?.deregistration_delay_seconds ?: 15) as int)
    }

    /** A build stopped in Settings, naming `named`, before any pod or tool. */
    private List<String> failedEarly(RunRecord run, List<String> named) {
        List<String> problems = []
        if (run.result != 'FAILURE') {
            return ["the build ended ${run.result}, expected it to fail naming ${named}".toString()]
        }
        if (!named.every { run.error?.contains(it) }) {
            problems << "the failure does not name ${named}: ${run.error}".toString()
        }
        if (run.pods || run.invocations) {
            problems << "pods ${run.pods*.label} started and ${run.invocations*.tool} ran before the setting was checked".toString()
        }
        return problems
    }

    // ---- helpers

    /** A deploy result in deployer's JSON shape (deployer/src/report.rs). */
    Map report(String outcome, int exitCode, String message, String rolledBackTo = null) {
        Map entry = [
            app: app, target: 'aws', cluster: PARAMETERS.CLUSTER, service: app,
            image: "${PARAMETERS.REGISTRY}/${app}:c0ffee1".toString(),
            previous_revision: "${app}:41".toString(), new_revision: "${app}:42".toString(),
            deployment_id: 'ecs-svc/5550001', outcome: outcome, exit_code: exitCode,
            rolled_back_to: rolledBackTo, pruned: [], message: message, duration_seconds: 93.5,
        ]
        return [command: 'deploy', exit_code: exitCode, outcome: outcome, duration_seconds: 95.0, apps: [entry]]
    }

    /** The value after `name` in argv, or of name=value; null when absent. */
    static String option(List<String> argv, String name) {
        for (int i = 0; i < argv.size(); i++) {
            if (argv[i] == name) {
                return i + 1 < argv.size() ? argv[i + 1] : ''
            }
            if (argv[i].startsWith("${name}=")) {
                return argv[i].substring(name.length() + 1)
            }
        }
        return null
    }
}
