/**
 * What an app's pipeline must do, as scenarios run through PipelineRunner,
 * each returning the problems it found. No problems: the pipeline passes.
 */
class PipelineChecks {
    static final List<String> STAGES = ['Test', 'Build & tag', 'Push', 'Deploy', 'Verify']
    static final List<String> OPTIONS = ['disableConcurrentBuilds', 'timeout', 'buildDiscarder', 'timestamps']
    static final List<String> STATIC_KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']
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

    /** Every scenario's problems, each prefixed with the scenario's name. */
    List<String> problems() {
        Map<String, Closure<List<String>>> scenarios = [
            'the Jenkinsfile': this.&jenkinsfileText,
            'a build of the checked-out commit': this.&buildsAndDeploysCommit,
            'settings from the environment': this.&settingsFromEnvironment,
            'a rollout that fails': this.&failedRollout,
            'deployer writing no result': this.&deployerWithoutResult,
            'IMAGE_TAG set': this.&redeploysImageTag,
            'the old version still served': this.&oldVersionServed,
            'an unhealthy health path': this.&unhealthy,
            'a missing setting': this.&missingSetting,
        ]
        List<String> found = []
        scenarios.each { String name, Closure<List<String>> scenario ->
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
        problems.addAll(verified(run))
        return problems
    }

    List<String> settingsFromEnvironment() {
        Scenario scenario = rollingOut(params: [:], jobEnvironment: VARIABLES)
        RunRecord run = run(scenario)
        List<String> problems = succeeded(run, scenario)
        problems.addAll(builtPushedDeployed(run, scenario.gitSha, FROM_VARIABLES))
        return problems
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

    List<String> redeploysImageTag() {
        String tag = 'v1.4.2'
        Scenario scenario = rollingOut(params: PARAMETERS + [IMAGE_TAG: tag])
        RunRecord run = run(scenario)
        List<String> problems = succeeded(run, scenario)
        problems.addAll(stages(run, [Test: 'ran', 'Build & tag': 'skipped', Push: 'skipped', Deploy: 'ran', Verify: 'ran']))
        ['build', 'push'].each { String command ->
            if (run.invocationsOf('deployer', command)) {
                problems << "IMAGE_TAG is set, yet deployer ${command} ran"
            }
        }
        problems.addAll(deployCommand(run, tag, FROM_PARAMETERS))
        problems.addAll(verified(run))
        return problems
    }

    List<String> oldVersionServed() {
        Scenario scenario = rollingOut(servedVersion: '0ld0ld0')
        RunRecord run = run(scenario)
        List<String> problems = common(run, scenario)
        problems.addAll(failedAtVerify(run, 'version', ['0ld0ld0', scenario.gitSha]))
        return problems
    }

    List<String> unhealthy() {
        Scenario scenario = rollingOut(healthStatus: 503)
        RunRecord run = run(scenario)
        List<String> problems = common(run, scenario)
        problems.addAll(failedAtVerify(run, 'health', ['503', AppFacts.healthPath(appConfig)]))
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
        if (run.result != 'FAILURE') {
            problems << 'the build did not fail without a cluster'
        } else if (!(run.error?.contains('CLUSTER') && run.error?.contains('ECS_CLUSTER'))) {
            problems << "the failure does not name the parameter CLUSTER and the variable ECS_CLUSTER: ${run.error}"
        }
        if (run.invocationsOf('deployer')) {
            problems << 'deployer ran without a cluster'
        }
        return problems
    }

    // ---- assertions shared by the scenarios

    private RunRecord run(Scenario scenario) {
        return runner.run(jenkinsfile, libraryDir, app, scenario)
    }

    /** What every run that got as far as the pipeline block must show. */
    private List<String> common(RunRecord run, Scenario scenario) {
        List<String> problems = []
        if (run.pipeline == null) {
            return ["the pipeline block never ran (error: ${run.error})".toString()]
        }
        List<String> options = run.pipeline.options*.name
        OPTIONS.findAll { !(it in options) }.each { problems << "options has no ${it}()".toString() }
        List<String> declared = run.pipeline.parameters*.name
        (scenario.params.keySet() + ['IMAGE_TAG']).findAll { !(it in declared) }.each {
            problems << "the parameter ${it} is not declared in parameters {}".toString()
        }
        problems.addAll(PodChecks.problems(run.pod))
        if (run.credentialBindings) {
            problems << "withCredentials binds ${run.credentialBindings}: credentials come from the service account only"
        }
        for (Map call in run.invocations) {
            STATIC_KEYS.findAll { call.env.containsKey(it) }.each {
                problems << "${call.tool} ${call.argv[0]} ran with ${it} set: no static keys".toString()
            }
        }
        for (Map step in run.shellSteps.findAll { it.script =~ /\b(cargo|deployer)\b/ }) {
            if (step.container != 'rust') {
                problems << "'${step.script}' ran in container ${step.container}, not rust".toString()
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
        return problems
    }

    /** A scenario where the settings are parameters and deployer's rollout completes. */
    private Scenario rollingOut(Map fields) {
        return new Scenario([params: PARAMETERS, deployResult: report('completed', 0, 'rolled out')] + fields)
    }

    /** What every run must show, and that the build succeeded. */
    private List<String> succeeded(RunRecord run, Scenario scenario) {
        List<String> problems = common(run, scenario)
        if (run.result != 'SUCCESS') {
            problems << "the build failed: ${run.error}".toString()
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

    /** deployer build or push: once, for the app, with the tag and the registry. */
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
        if (STAGES.indexOf(calls[0].env.STAGE_NAME) != STAGES.indexOf('Deploy')) {
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

    private List<String> failedAtDeploy(RunRecord run, String outcome, String message) {
        List<String> problems = []
        if (run.result != 'FAILURE') {
            return ["a deploy that ended '${outcome}' did not fail the build".toString()]
        }
        problems.addAll(stages(run, [Test: 'ran', 'Build & tag': 'ran', Push: 'ran', Deploy: 'failed', Verify: 'not run']))
        if (!run.error?.contains(outcome) || !run.error?.contains(message)) {
            problems << "the build's error does not carry deployer's outcome '${outcome}' and message: ${run.error}".toString()
        }
        if (!run.echoes.any { it.contains('Deploy') && it.contains(outcome) && it.contains(message) }) {
            problems << "no failure summary naming the stage Deploy and deployer's outcome '${outcome}': ${run.echoes}".toString()
        }
        return problems
    }

    private List<String> failedAtVerify(RunRecord run, String what, List<String> named) {
        if (run.result != 'FAILURE') {
            return ["Verify passed with the wrong ${what}".toString()]
        }
        List<String> problems = stages(run, STAGES.collectEntries { [(it): it == 'Verify' ? 'failed' : 'ran'] })
        if (!named.every { run.error?.contains(it) }) {
            problems << "Verify's error does not name ${named}: ${run.error}".toString()
        }
        if (!run.echoes.any { it.contains('Verify') && it.contains('completed') }) {
            problems << "no failure summary naming the stage Verify and deployer's outcome: ${run.echoes}".toString()
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
