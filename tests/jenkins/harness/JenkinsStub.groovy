import groovy.json.JsonSlurperClassic
import java.util.concurrent.TimeUnit
import org.yaml.snakeyaml.Yaml

/**
 * The Jenkins steps the pipelines use, stubbed, and the declarative runner.
 *
 * sh runs its script for real with /bin/sh -xe in the run's workspace, as
 * Jenkins does, with the fake git, cargo and deployer (tests/jenkins/fakes)
 * first on PATH and, inside container('x'), the environment the pod YAML
 * gives container x. Everything a step does is written to the RunRecord.
 */
class JenkinsStub {
    static final String BINDING_NAME = 'jenkinsStub'
    static final long SH_TIMEOUT_SECONDS = 60

    final RunRecord record
    final Binding binding
    final File workspace
    final File libraryDir
    /** The environment every sh gets besides the build's: PATH with the fakes, FAKE_*. */
    final Map<String, String> baseEnvironment
    /** The global variables of the library, by name. */
    final Map<String, Script> globals = [:]

    private String currentContainer
    private Map<String, Map<String, String>> containerEnvironments = [:]

    JenkinsStub(RunRecord record, Binding binding, File workspace, File libraryDir, Map<String, String> baseEnvironment) {
        this.record = record
        this.binding = binding
        this.workspace = workspace
        this.libraryDir = libraryDir
        this.baseEnvironment = baseEnvironment
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
        startAgent(declared.podYaml)
        Throwable failure = null
        for (Declarative.Stage stage in declared.stages) {
            if (failure != null) {
                record.stages << [name: stage.name, status: 'not run']
                continue
            }
            env.STAGE_NAME = stage.name
            if (!stage.conditions.every { Closure condition -> condition.call() }) {
                record.stages << [name: stage.name, status: 'skipped']
                continue
            }
            try {
                stage.steps.call()
                record.stages << [name: stage.name, status: 'ran']
            } catch (RuntimeException abort) {
                failure = abort
                fail(abort)
                record.stages << [name: stage.name, status: 'failed']
            }
        }
        env.STAGE_NAME = null
        List<String> conditions = ['always', failure == null ? 'success' : 'failure']
        if (failure != null) {
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

    /** The build fails with this error; the first error is the one reported. */
    void fail(Throwable error) {
        currentBuild.result = 'FAILURE'
        record.result = 'FAILURE'
        if (record.error == null) {
            record.error = error.message ?: error.toString()
        }
        record.log << "ERROR: ${error.message}\n"
    }

    /** Parses the pod YAML, as the kubernetes plugin would before the pod starts. */
    private void startAgent(String podYaml) {
        if (!podYaml) {
            throw new PipelineAbort('agent: no kubernetes pod YAML')
        }
        record.pod = (Map) new Yaml().load(podYaml)
        for (Map container in (List<Map>) (record.pod?.spec?.containers ?: [])) {
            Map<String, String> variables = [:]
            for (Map variable in (List<Map>) (container.env ?: [])) {
                variables[variable.name.toString()] = variable.value?.toString()
            }
            containerEnvironments[container.name.toString()] = variables
        }
    }

    // ---- steps

    Object script(Closure body) {
        return body.call()
    }

    Object container(String name, Closure body) {
        if (!containerEnvironments.containsKey(name)) {
            throw new PipelineAbort("container('${name}'): the pod has no container ${name}")
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
        String script = args.script.toString()
        record.shellSteps << [stage: env.STAGE_NAME, container: currentContainer, script: script]
        record.log << "+ ${args.label ?: script}\n"
        File file = File.createTempFile('script', '.sh', workspace.parentFile)
        file.text = script
        ProcessBuilder builder = new ProcessBuilder('/bin/sh', '-xe', file.path).directory(workspace)
        builder.environment().clear()
        builder.environment().putAll(shellEnvironment())
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
    private Map<String, String> shellEnvironment() {
        Map<String, String> variables = [:]
        variables.putAll(baseEnvironment)
        variables.putAll(env.all())
        params.each { Object name, Object value ->
            variables[name.toString()] = value == null ? '' : value.toString()
        }
        if (currentContainer != null) {
            variables.putAll(containerEnvironments[currentContainer].findAll { it.value != null })
        }
        return variables
    }

    void echo(Object message) {
        record.echoes << message.toString()
        record.log << "${message}\n"
    }

    void error(Object message) {
        throw new PipelineAbort(message.toString())
    }

    boolean fileExists(String path) {
        return new File(workspace, path).exists()
    }

    String readFile(String path) {
        return readFile(file: path)
    }

    String readFile(Map args) {
        File file = new File(workspace, args.file.toString())
        if (!file.exists()) {
            throw new PipelineAbort("readFile: ${args.file} does not exist")
        }
        return file.text
    }

    void writeFile(Map args) {
        new File(workspace, args.file.toString()).text = args.text.toString()
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
        } catch (groovy.json.JsonException bad) {
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
        File file = new File(workspace, path)
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
