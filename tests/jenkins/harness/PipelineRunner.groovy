import groovy.json.JsonOutput
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.customizers.ImportCustomizer
import org.codehaus.groovy.runtime.InvokerHelper

/**
 * Runs a Jenkinsfile and its shared library the way Jenkins would, with the
 * steps stubbed (JenkinsStub), in a fresh workspace holding the repository's
 * config/*.json, against a load balancer stand-in. Returns what it did.
 */
class PipelineRunner {
    final File repoRoot
    final File fakesDir
    /** The libraries the README configures. */
    final LibraryConfig library
    /** Where this repository's library is (the libraryPath the README must give). */
    static final String LIBRARY_PATH = 'jenkins/'
    private final GroovyClassLoader loader
    private final Map<String, Class> compiled = [:]

    PipelineRunner(File repoRoot, File fakesDir) {
        this.repoRoot = repoRoot
        this.fakesDir = fakesDir
        this.library = LibraryConfig.fromReadme(new File(repoRoot, 'jenkins/README.md'))
        CompilerConfiguration configuration = new CompilerConfiguration()
        configuration.scriptBaseClass = PipelineScript.name
        // Jenkins imports the @Library annotation into every Jenkinsfile.
        ImportCustomizer imports = new ImportCustomizer()
        imports.addImports('org.jenkinsci.plugins.workflow.libs.Library', 'com.cloudbees.groovy.cps.NonCPS')
        configuration.addCompilationCustomizers(imports)
        loader = new GroovyClassLoader(PipelineRunner.classLoader, configuration)
    }

    /** Runs `jenkinsfile` with the library in `libraryDir` for the app in `app`. */
    RunRecord run(File jenkinsfile, File libraryDir, String app, Scenario scenario) {
        RunRecord record = new RunRecord()
        File root = File.createTempDir('pipeline-run', '')
        File records = new File(root, 'records')
        records.mkdirs()
        File registry = scenario.registryDir ?: new File(root, 'registry')
        File engine = scenario.engineDir ?: new File(root, 'engine')
        registry.mkdirs()
        engine.mkdirs()
        int workspaces = 0
        // Each pod checks the commit out into a workspace of its own.
        Closure<File> newWorkspace = { ->
            File workspace = new File(root, "workspace-${workspaces++}")
            new File(workspace, 'config').mkdirs()
            new File(repoRoot, 'config').eachFileMatch(~/.*\.json/) { File f ->
                new File(workspace, "config/${f.name}").text = f.text
            }
            return workspace
        }
        Map appConfig = AppFacts.load(repoRoot, app)
        String deployedTag = scenario.params.IMAGE_TAG ?: scenario.gitSha
        AlbStandIn alb = new AlbStandIn(appConfig, AppFacts.healthPath(appConfig), scenario.healthStatus,
            scenario.servedVersion ?: deployedTag, scenario.healthFailures, scenario.serviceBody)
        try {
            Map<String, String> params = withAlbUrl(scenario.params, alb)
            File resultFile = new File(root, 'deploy-result.json')
            if (scenario.deployResult != null) {
                resultFile.text = JsonOutput.prettyPrint(JsonOutput.toJson(scenario.deployResult))
            }
            Map<String, String> base = [
                FAKE_RECORD_DIR: records.path,
                FAKE_REGISTRY_DIR: registry.path,
                FAKE_ENGINE_DIR: engine.path,
                FAKE_GIT_SHA: scenario.gitSha,
                FAKE_DEPLOY_EXIT: scenario.deployExit.toString(),
                FAKE_ROLLBACK_EXIT: scenario.rollbackExit.toString(),
                FAKE_CARGO_TEST_EXIT: scenario.testExit.toString(),
                FAKE_BUILD_EXIT: scenario.buildExit.toString(),
                FAKE_PUSH_EXIT: scenario.pushExit.toString(),
                FAKE_CURL_FAIL: scenario.curlFails ? '1' : '0',
            ]
            if (scenario.deployResult != null) {
                base.FAKE_DEPLOY_RESULT = resultFile.path
            }
            Map<String, String> jobEnvironment = withAlbUrl(scenario.jobEnvironment, alb)
            Map stub = [record: record, libraryDir: libraryDir, fakesDir: fakesDir, newWorkspace: newWorkspace,
                        baseEnvironment: base,
                        interrupt: scenario.interrupt,
                        folderEnvironment: withAlbUrl(scenario.folderEnvironment, alb)]
            execute(record, jenkinsfile, stub, params, jobEnvironment, scenario)
            record.invocations = readInvocations(records)
            record.albRequests = new ArrayList<>(alb.requests)
            File events = new File(registry, 'events')
            record.registryEvents = events.isFile() ? events.readLines() : []
        } finally {
            alb.stop()
            root.deleteDir()
        }
        return record
    }

    private void execute(RunRecord record, File jenkinsfile, Map stub, Map<String, String> params,
                         Map<String, String> jobEnvironment, Scenario scenario) {
        Binding binding = new Binding()
        EnvStub env = new EnvStub()
        env.putAll(jobEnvironment)
        CurrentBuild currentBuild = new CurrentBuild()
        if (scenario.causes != null) {
            currentBuild.buildCauses = scenario.causes.collect { [_class: it] }
        }
        if (scenario.changedPaths) {
            currentBuild.changeSets = [[items: [[affectedPaths: scenario.changedPaths]]]]
        }
        if (scenario.interrupt.cause == 'timeout') {
            currentBuild.startTimeInMillis = System.currentTimeMillis() - 61L * 60 * 1000
        }
        binding.setVariable('env', env)
        binding.setVariable('params', Collections.unmodifiableMap(params))
        binding.setVariable('currentBuild', currentBuild)
        JenkinsStub jenkins = new JenkinsStub(stub + [binding: binding])
        binding.setVariable(JenkinsStub.BINDING_NAME, jenkins)
        try {
            // @Library resolves through the README's configuration; the
            // library under test stands at the libraryPath it names.
            Map<String, String> libraries = library.resolve(jenkinsfile.text)
            if (libraries.any { it.value != LIBRARY_PATH }) {
                throw new PipelineAbort("@Library: ${libraries} is not this repository's ${LIBRARY_PATH}")
            }
            if (libraries) {
                new File((File) stub.libraryDir, 'vars').eachFileMatch(~/.*\.groovy/) { File file ->
                    String name = file.name - '.groovy'
                    Script global = InvokerHelper.createScript(compile(file), binding)
                    jenkins.globals[name] = global
                    binding.setVariable(name, global)
                }
            }
            Script script = InvokerHelper.createScript(compile(jenkinsfile), binding)
            script.run()
        } catch (RuntimeException failure) {
            jenkins.fail(failure)
        }
        record.description = currentBuild.description
    }

    /** The values with Scenario.ALB_URL replaced by the stand-in's URL. */
    private static Map<String, String> withAlbUrl(Map<String, String> values, AlbStandIn alb) {
        Map<String, String> replaced = [:]
        values.each { String name, String value ->
            replaced[name] = value == Scenario.ALB_URL ? alb.url : value
        }
        return replaced
    }

    /** Compiled once per file content, for the many runs of each. */
    private Class compile(File file) {
        String text = file.text
        String key = "${file.canonicalPath}\n${text}"
        if (!compiled.containsKey(key)) {
            String className = 'Script_' + (file.name.replaceAll(/\W/, '_')) + '_' + compiled.size()
            compiled[key] = loader.parseClass(text, className)
        }
        return compiled[key]
    }

    private static List<Map> readInvocations(File records) {
        List<Map> invocations = []
        List<File> files = records.listFiles().findAll { File f -> f.name.endsWith('.args') }.sort { it.name }
        for (File args in files) {
            String base = args.name - '.args'
            Map<String, String> env = [:]
            for (String entry in nulSeparated(new File(records, "${base}.env"))) {
                int eq = entry.indexOf('=')
                env[entry.substring(0, eq)] = entry.substring(eq + 1)
            }
            invocations << [tool: base.substring(base.indexOf('-') + 1), argv: nulSeparated(args), env: env]
        }
        return invocations
    }

    private static List<String> nulSeparated(File file) {
        String text = file.getText('UTF-8')
        return text.isEmpty() ? [] : (text.split('\u0000', -1) as List).dropRight(1)
    }
}
