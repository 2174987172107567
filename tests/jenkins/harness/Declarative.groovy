/**
 * The declarative pipeline syntax, as builders that record what a
 * `pipeline {}` block declares. Each block runs with its builder as the
 * delegate; a name a builder does not know falls through to the script,
 * where it fails as an unknown step, so unsupported syntax fails loudly.
 */
class Declarative {

    /** What a pipeline block declares. */
    static class Pipeline {
        /** The pipeline-wide pod, or null with `agent none`. */
        String podYaml
        boolean agentNone
        List<Map> options = []
        List<Map> triggers = []
        List<Map> parameters = []
        List<Stage> stages = []
        Map<String, Closure> post = [:]
    }

    /** One stage. */
    static class Stage {
        String name
        List<Closure> conditions = []
        /** when { beforeAgent true }: the conditions are evaluated before the agent starts. */
        boolean beforeAgent
        /** when { beforeOptions true }: ... and before the options (lock) apply. */
        boolean beforeOptions
        /** The stage's own pod, or null. */
        String podYaml
        /** options { lock(...) }, { timeout(...) }. */
        List<Map> options = []
        /** A stage has steps, or stages of its own. */
        Closure steps
        List<Stage> stages
    }

    /** Runs `body` with `builder` as its delegate; returns the builder. */
    static <T> T build(T builder, Closure body) {
        Closure copy = (Closure) body.clone()
        copy.delegate = builder
        copy.resolveStrategy = Closure.DELEGATE_FIRST
        copy.call()
        return builder
    }

    /** pipeline { agent, options, parameters, stages, post }. */
    static class PipelineBuilder {
        Pipeline pipeline = new Pipeline()

        void agent(Closure body) {
            pipeline.podYaml = build(new AgentBuilder(), body).podYaml
        }

        /** agent none: each stage names its own. */
        void agent(AgentNone none) {
            pipeline.agentNone = true
        }

        AgentNone getNone() {
            return AgentNone.INSTANCE
        }

        void triggers(Closure body) {
            pipeline.triggers = build(new TriggersBuilder(), body).triggers
        }

        void options(Closure body) {
            pipeline.options = build(new OptionsBuilder(), body).options
        }

        void parameters(Closure body) {
            pipeline.parameters = build(new ParametersBuilder(), body).parameters
        }

        void stages(Closure body) {
            pipeline.stages = build(new StagesBuilder(), body).stages
        }

        void post(Closure body) {
            pipeline.post = build(new PostBuilder(), body).conditions
        }
    }

    /** The `none` of `agent none`. */
    static class AgentNone {
        static final AgentNone INSTANCE = new AgentNone()
    }

    /** triggers { pollSCM(...) }. */
    static class TriggersBuilder {
        List<Map> triggers = []

        void pollSCM(String spec) {
            triggers << [name: 'pollSCM', args: [spec]]
        }

        void githubPush() {
            triggers << [name: 'githubPush', args: []]
        }
    }

    /** agent { kubernetes { yaml ... } }: the only agent these pipelines use. */
    static class AgentBuilder {
        String podYaml

        void kubernetes(Closure body) {
            podYaml = build(new KubernetesBuilder(), body).podYaml
        }
    }

    /** The kubernetes agent's settings. */
    static class KubernetesBuilder {
        String podYaml

        void yaml(String text) {
            podYaml = text
        }
    }

    /** options { ... }: records each option by name, with its arguments. */
    static class OptionsBuilder {
        List<Map> options = []

        void disableConcurrentBuilds(Map args = [:]) {
            options << [name: 'disableConcurrentBuilds', args: args]
        }

        void timeout(Map args) {
            options << [name: 'timeout', args: args]
        }

        void buildDiscarder(Map strategy) {
            options << [name: 'buildDiscarder', args: strategy]
        }

        void timestamps() {
            options << [name: 'timestamps', args: [:]]
        }

        void skipDefaultCheckout() {
            options << [name: 'skipDefaultCheckout', args: [:]]
        }

        /** The argument of buildDiscarder. */
        Map logRotator(Map args) {
            return [logRotator: args]
        }
    }

    /** parameters { string(...) ... }. */
    static class ParametersBuilder {
        List<Map> parameters = []

        void string(Map definition) {
            parameters << ([type: 'string'] + definition)
        }

        void booleanParam(Map definition) {
            parameters << ([type: 'boolean'] + definition)
        }

        void choice(Map definition) {
            parameters << ([type: 'choice'] + definition)
        }
    }

    /** stages { stage('name') { ... } ... }. */
    static class StagesBuilder {
        List<Stage> stages = []

        void stage(String name, Closure body) {
            StageBuilder builder = build(new StageBuilder(stage: new Stage(name: name)), body)
            stages << builder.stage
        }
    }

    /** One stage's when and steps. */
    static class StageBuilder {
        Stage stage

        void when(Closure body) {
            WhenBuilder when = build(new WhenBuilder(), body)
            stage.conditions = when.conditions
            stage.beforeAgent = when.beforeAgent
            stage.beforeOptions = when.beforeOptions
        }

        void agent(Closure body) {
            stage.podYaml = build(new AgentBuilder(), body).podYaml
        }

        void options(Closure body) {
            stage.options = build(new StageOptionsBuilder(), body).options
        }

        void steps(Closure body) {
            stage.steps = body
        }

        void stages(Closure body) {
            stage.stages = build(new StagesBuilder(), body).stages
        }
    }

    /** when { expression { ... } }: every condition must hold. */
    static class WhenBuilder {
        List<Closure> conditions = []
        boolean beforeAgent
        boolean beforeOptions

        void beforeAgent(boolean value) {
            beforeAgent = value
        }

        void beforeOptions(boolean value) {
            beforeOptions = value
        }

        void expression(Closure condition) {
            conditions << condition
        }
    }

    /** A stage's options { lock(...) timeout(...) }. */
    static class StageOptionsBuilder {
        List<Map> options = []

        void lock(Map args) {
            options << [name: 'lock', args: args]
        }

        void lock(String resource) {
            options << [name: 'lock', args: [resource: resource]]
        }

        void timeout(Map args) {
            options << [name: 'timeout', args: args]
        }
    }

    /** post { always, success, failure, cleanup ... }. */
    static class PostBuilder {
        Map<String, Closure> conditions = [:]

        void always(Closure body) {
            conditions.always = body
        }

        void success(Closure body) {
            conditions.success = body
        }

        void failure(Closure body) {
            conditions.failure = body
        }

        void aborted(Closure body) {
            conditions.aborted = body
        }

        void unstable(Closure body) {
            conditions.unstable = body
        }

        void unsuccessful(Closure body) {
            conditions.unsuccessful = body
        }

        void cleanup(Closure body) {
            conditions.cleanup = body
        }
    }
}
