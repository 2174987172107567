import groovy.json.JsonSlurperClassic
import java.util.concurrent.TimeUnit
import org.yaml.snakeyaml.Yaml

/**
 * The Jenkins steps the pipelines use, stubbed, and the declarative runner.
 *
 * Each agent (the pipeline's, or a stage's own) is a pod: its YAML is
 * parsed, it gets a fresh workspace, and each of its containers (with the
 * jnlp container the kubernetes plugin adds) gets the fake tools that its
 * real image has, and only those: a tool the image lacks is "not found"
 * there, as it would be in the pod. sh runs its script for real with
 * /bin/sh -xe in the agent's workspace, as Jenkins does, with that
 * container's tools first on PATH and the environment the pod YAML gives
 * the container. A step that needs a workspace fails outside an agent.
 * Everything a step does is written to the RunRecord.
 */
class JenkinsStub {
    static final String BINDING_NAME = 'jenkinsStub'
    static final long SH_TIMEOUT_SECONDS = 60
    /** The tools the fakes stand in for. */
    static final List<String> TOOLS = ['git', 'cargo', 'deployer', 'curl']
    /** Build results, from best to worst, as Jenkins orders them. */
    static final List<String> RESULTS = ['SUCCESS', 'UNSTABLE', 'FAILURE', 'NOT_BUILT', 'ABORTED']

    final RunRecord record
    final Binding binding
    final File libraryDir
    final File fakesDir
    /** Makes a fresh workspace, with the checkout's files, for each agent. */
    final Closure<File> newWorkspace
    /** The environment every sh gets besides the build's: FAKE_*. */
    final Map<String, String> baseEnvironment
    /** [stage: name, cause: 'abort' or 'timeout']: the build is interrupted after a sh of that stage. */
    final Map interrupt
    /** The variables set on the job's folder, which only withFolderProperties shows. */
    final Map<String, String> folderEnvironment
    /** The global variables of the library, by name. */
    final Map<String, Script> globals = [:]

    private Agent agent
    private String currentContainer
    private final List<String> locks = []
    private Map currentStage
    private boolean interrupted

    /** A started pod. */
    static class Agent {
        String label
        Map pod
        File workspace
        Map<String, Map<String, String>> environments = [:]
        Map<String, File> binDirs = [:]
    }

    JenkinsStub(Map args) {
        this.record = (RunRecord) args.record
        this.binding = (Binding) args.binding
        this.libraryDir = (File) args.libraryDir
        this.fakesDir = (File) args.fakesDir
        this.newWorkspace = (Closure<File>) args.newWorkspace
        this.baseEnvironment = (Map<String, String>) args.baseEnvironment
        this.interrupt = (Map) (args.interrupt ?: [:])
        this.folderEnvironment = (Map<String, String>) (args.folderEnvironment ?: [:])
    }

    /** A call to `name` that the calling script does not define. */
    Object invoke(String name, Object args) {
        Object[] argv = args instanceof Object[] ? (Object[]) args : [args] as Object[]
        Script global = globals[name]
        if (global != null) {
            return global.invokeMethod('call', argv)
        }
        try {
            return this.invokeMethod(name, argv)
        } catch (MissingMethodException missing) {
            if (missing.method == name && missing.type == JenkinsStub) {
                throw new PipelineAbort("No such DSL method '${name}' found among steps " +
                    "(with arguments ${argv*.getClass()*.simpleName})")
            }
            throw missing
        }
    }

    EnvStub getEnv() {
        return (EnvStub) binding.getVariable('env')
    }

    CurrentBuild getCurrentBuild() {
        return (CurrentBuild) binding.getVariable('currentBuild')
    }

    Map getParams() {
        return (Map) binding.getVariable('params')
    }

    // ---- declarative

    void pipeline(Closure body) {
        Declarative.Pipeline declared = Declarative.build(new Declarative.PipelineBuilder(), body).pipeline
        record.pipeline = declared
        if (!declared.agentNone) {
            startAgent(declared.podYaml)
        }
        runStages(declared.stages)
        env.STAGE_NAME = null
        agent = null
        currentContainer = null
        String result = currentBuild.currentResult
        List<String> conditions = ['always']
        conditions << [SUCCESS: 'success', UNSTABLE: 'unstable', FAILURE: 'failure', ABORTED: 'aborted'][result]
        if (result != 'SUCCESS') {
            conditions << 'unsuccessful'
        }
        conditions << 'cleanup'
        for (String condition in conditions) {
            Closure post = declared.post[condition]
            if (post != null) {
                try {
                    post.call()
                } catch (RuntimeException abort) {
                    fail(abort)
                }
            }
        }
    }

    /** Runs the stages in order; after a failure the rest are not run. */
    private RuntimeException runStages(List<Declarative.Stage> stages) {
        RuntimeException failure = null
        for (Declarative.Stage stage in stages) {
            if (failure != null) {
                mark(stage, 'not run')
            } else {
                failure = runStage(stage)
            }
        }
        return failure
    }

    /**
     * One stage, in Jenkins' order: when with beforeOptions, the options
     * (lock), when with beforeAgent, the agent, when, then its steps or its
     * stages.
     */
    private RuntimeException runStage(Declarative.Stage stage) {
        env.STAGE_NAME = stage.name
        Map entry = [name: stage.name, status: 'ran']
        record.stages << entry
        if (stage.beforeOptions && !holds(stage)) {
            skip(stage, entry)
            return null
        }
        List<String> held = stage.options.findAll { it.name == 'lock' }.collect { it.args.resource.toString() }
        held.each { record.lockRequests << [stage: stage.name, resource: it] }
        Agent outerAgent = agent
        String outerContainer = currentContainer
        Map outerStage = currentStage
        locks.addAll(held)
        try {
            if (stage.beforeAgent && !stage.beforeOptions && !holds(stage)) {
                skip(stage, entry)
                return null
            }
            if (stage.podYaml != null) {
                startAgent(stage.podYaml)
                currentContainer = null
            }
            if (!stage.beforeAgent && !holds(stage)) {
                skip(stage, entry)
                return null
            }
            if (stage.stages != null) {
                RuntimeException failure = runStages(stage.stages)
                if (failure != null) {
                    entry.status = failure instanceof PipelineInterrupted ? 'aborted' : 'failed'
                }
                return failure
            }
            currentStage = entry
            stage.steps.call()
            return null
        } catch (RuntimeException error) {
            entry.status = error instanceof PipelineInterrupted ? 'aborted' : 'failed'
            fail(error)
            return error
        } finally {
            held.each { locks.remove(it) }
            agent = outerAgent
            currentContainer = outerContainer
            currentStage = outerStage
            env.STAGE_NAME = stage.name
        }
    }

    private boolean holds(Declarative.Stage stage) {
        return stage.conditions.every { Closure condition -> condition.call() }
    }

    private void skip(Declarative.Stage stage, Map entry) {
        entry.status = 'skipped'
        (stage.stages ?: []).each { mark(it, 'skipped') }
    }

    /** Records a stage and its own stages with `status`, without running them. */
    private void mark(Declarative.Stage stage, String status) {
        record.stages << [name: stage.name, status: status]
        (stage.stages ?: []).each { mark(it, status) }
    }

    /** The build fails with this error (or is aborted); the first error is the one reported. */
    void fail(Throwable error) {
        worsen(error instanceof PipelineInterrupted ? 'ABORTED' : 'FAILURE')
        if (record.error == null) {
            record.error = error.message ?: error.toString()
        }
        record.log << "ERROR: ${error.message}\n"
    }

    /** Sets the build's result to `result` unless it is already worse. */
    private void worsen(String result) {
        if (RESULTS.indexOf(result) > RESULTS.indexOf(currentBuild.currentResult)) {
            currentBuild.result = result
        }
        record.result = currentBuild.currentResult
    }

    /**
     * Starts a pod, as the kubernetes plugin would: parses its YAML, adds
     * the jnlp container when the YAML has none, and gives each container
     * the tools of its image.
     */
    private void startAgent(String podYaml) {
        if (!podYaml) {
            throw new PipelineAbort('agent: no kubernetes pod YAML')
        }
        Map pod = (Map) new Yaml().load(podYaml)
        Agent started = new Agent(pod: pod, workspace: newWorkspace.call())
        started.label = pod?.metadata?.labels?.get('app.kubernetes.io/name') ?: "pod-${record.pods.size()}"
        List<Map> containers = new ArrayList<>((List<Map>) (pod?.spec?.containers ?: []))
        if (!containers.any { it.name == 'jnlp' }) {
            containers << [name: 'jnlp']
        }
        for (Map container in containers) {
            String name = container.name.toString()
            Map<String, String> variables = [:]
            for (Map variable in (List<Map>) (container.env ?: [])) {
                variables[variable.name.toString()] = variable.value?.toString()
            }
            started.environments[name] = variables
            started.binDirs[name] = binDir(started, name, toolsOf(container))
        }
        record.pods << [label: started.label, stage: env.STAGE_NAME, pod: pod]
        agent = started
    }

    /** The fake tools a container has: those its real image has. */
    List<String> toolsOf(Map container) {
        String image = container.image?.toString() ?: ''
        if (container.name == 'jnlp') {
            return ['git']                      // the agent image: git for the checkout
        }
        if (image.startsWith('rust:')) {
            return ['cargo', 'git', 'curl']     // rust:*-bookworm (buildpack-deps)
        }
        if (image ==~ /.*\/ecs-pipeline-deployer[@:].*/) {
            return ['deployer', 'curl', 'git']  // Dockerfile.deployer, as the README names it
        }
        return []                               // docker:*-dind and anything else
    }

    /** A directory with the container's tools, and a "not found" for each of the others. */
    private File binDir(Agent pod, String container, List<String> tools) {
        File dir = new File(pod.workspace.parentFile, "bin-${record.pods.size()}-${container}")
        dir.mkdirs()
        for (String tool in TOOLS) {
            File link = new File(dir, tool)
            if (tool in tools) {
                java.nio.file.Files.createSymbolicLink(link.toPath(), new File(fakesDir, tool).toPath())
            } else {
                link.text = "#!/bin/sh\necho \"sh: 1: ${tool}: not found (container ${container} of ${pod.label})\" >&2\nexit 127\n"
                link.setExecutable(true)
            }
        }
        return dir
    }

    private Agent requireAgent(String step) {
        if (agent == null) {
            throw new PipelineAbort("${step}: Required context class hudson.FilePath is missing: " +
                'the step runs outside any agent (agent none)')
        }
        return agent
    }

    // ---- steps

    Object script(Closure body) {
        return body.call()
    }

    Object container(String name, Closure body) {
        Agent pod = requireAgent("container('${name}')")
        if (!pod.environments.containsKey(name)) {
            throw new PipelineAbort("container('${name}'): the pod ${pod.label} has no container ${name}")
        }
        String outer = currentContainer
        currentContainer = name
        try {
            return body.call()
        } finally {
            currentContainer = outer
        }
    }

    Object sh(String script) {
        return sh(script: script)
    }

    Object sh(Map args) {
        Agent pod = requireAgent('sh')
        String container = currentContainer ?: 'jnlp'
        String script = args.script.toString()
        record.shellSteps << [stage: env.STAGE_NAME, pod: pod.label, container: container, script: script,
                              locks: new ArrayList<>(locks)]
        record.log << "+ ${args.label ?: script}\n"
        File file = File.createTempFile('script', '.sh', pod.workspace.parentFile)
        file.text = script
        ProcessBuilder builder = new ProcessBuilder('/bin/sh', '-xe', file.path).directory(pod.workspace)
        builder.environment().clear()
        builder.environment().putAll(shellEnvironment(pod, container))
        Process process = builder.start()
        ByteArrayOutputStream out = new ByteArrayOutputStream()
        ByteArrayOutputStream err = new ByteArrayOutputStream()
        Thread outReader = process.consumeProcessOutputStream(out)
        Thread errReader = process.consumeProcessErrorStream(err)
        if (!process.waitFor(SH_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly()
            throw new PipelineAbort("sh: still running after ${SH_TIMEOUT_SECONDS}s: ${script}")
        }
        outReader.join()
        errReader.join()
        file.delete()
        String stdout = out.toString('UTF-8')
        record.log << err.toString('UTF-8')
        int status = process.exitValue()
        if (!interrupted && interrupt.stage && interrupt.stage == env.STAGE_NAME) {
            // The abort or the timeout lands while this step runs: Jenkins
            // signals the step's processes and the step throws.
            interrupted = true
            record.log << stdout
            throw new PipelineInterrupted(interrupt.cause == 'timeout' ? 'Timeout has been exceeded' :
                'Aborted by a user')
        }
        if (args.returnStatus) {
            record.log << stdout
            return status
        }
        if (status != 0) {
            record.log << stdout
            throw new PipelineAbort("script returned exit code ${status}")
        }
        if (args.returnStdout) {
            return stdout
        }
        record.log << stdout
        return null
    }

    /** What Jenkins gives a sh step: the build's variables, its parameters, the container's. */
    private Map<String, String> shellEnvironment(Agent pod, String container) {
        Map<String, String> variables = [:]
        variables.putAll(baseEnvironment)
        variables.putAll(env.all())
        params.each { Object name, Object value ->
            variables[name.toString()] = value == null ? '' : value.toString()
        }
        variables.putAll(pod.environments[container].findAll { it.value != null })
        variables.PATH = "${pod.binDirs[container].path}:/usr/bin:/bin".toString()
        variables.HOME = pod.workspace.parentFile.path
        variables.WORKSPACE = pod.workspace.path
        variables.FAKE_CONTAINER = "${pod.label}/${container}".toString()
        return variables
    }

    /** The folder-properties plugin's step: the folder's variables in env, inside the block only. */
    Object withFolderProperties(Closure body) {
        Map<String, String> saved = new HashMap<>(env.all())
        env.putAll(folderEnvironment)
        try {
            return body.call()
        } finally {
            folderEnvironment.keySet().each { env.setProperty(it, null) }
            env.putAll(saved)
        }
    }

    void sleep(Map args) {
        record.sleeps << (args.time as int)
    }

    void sleep(int seconds) {
        record.sleeps << seconds
    }

    /** Marks the stage and the build UNSTABLE, and goes on. */
    void unstable(Object message) {
        record.warnings << message.toString()
        record.log << "WARNING: ${message}\n"
        if (currentStage != null) {
            currentStage.status = 'unstable'
        }
        worsen('UNSTABLE')
    }

    void echo(Object message) {
        record.echoes << message.toString()
        record.log << "${message}\n"
    }

    void error(Object message) {
        throw new PipelineAbort(message.toString())
    }

    boolean fileExists(String path) {
        return new File(requireAgent('fileExists').workspace, path).exists()
    }

    String readFile(String path) {
        return readFile(file: path)
    }

    String readFile(Map args) {
        File file = new File(requireAgent('readFile').workspace, args.file.toString())
        if (!file.exists()) {
            throw new PipelineAbort("readFile: ${args.file} does not exist")
        }
        return file.text
    }

    void writeFile(Map args) {
        new File(requireAgent('writeFile').workspace, args.file.toString()).text = args.text.toString()
    }

    /** pipeline-utility-steps' readJSON, with its two modes for JSON null. */
    Object readJSON(Map args) {
        String text = args.containsKey('file') ? readFile(file: args.file) : args.text?.toString()
        if (text == null) {
            throw new PipelineAbort('readJSON: give file or text')
        }
        Object parsed
        try {
            parsed = new JsonSlurperClassic().parseText(text)
        } catch (groovy.json.JsonException | IllegalArgumentException bad) {
            throw new PipelineAbort("readJSON: not JSON: ${bad.message}")
        }
        return args.returnPojo ? parsed : withJsonLibNulls(parsed)
    }

    private Object withJsonLibNulls(Object value) {
        if (value == null) {
            return JsonLibNull.INSTANCE
        }
        if (value instanceof Map) {
            return ((Map) value).collectEntries { k, v -> [(k): withJsonLibNulls(v)] }
        }
        if (value instanceof List) {
            return ((List) value).collect { withJsonLibNulls(it) }
        }
        return value
    }

    void archiveArtifacts(String pattern) {
        archiveArtifacts(artifacts: pattern)
    }

    void archiveArtifacts(Map args) {
        String path = args.artifacts.toString()
        File file = new File(requireAgent('archiveArtifacts').workspace, path)
        if (!file.isFile()) {
            if (args.allowEmptyArchive) {
                return
            }
            throw new PipelineAbort("archiveArtifacts: no artifacts found that match the file pattern \"${path}\"")
        }
        record.archived[path] = file.text
    }

    String libraryResource(String path) {
        File file = new File(libraryDir, "resources/${path}")
        if (!file.isFile()) {
            throw new PipelineAbort("libraryResource: no resource ${path} in the library")
        }
        return file.text
    }

    Object withCredentials(List bindings, Closure body) {
        record.credentialBindings << bindings
        return body.call()
    }
}
