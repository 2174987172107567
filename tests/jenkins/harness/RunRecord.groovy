/** Everything one run of a pipeline did, for the checks to assert on. */
class RunRecord {
    /** SUCCESS, UNSTABLE, FAILURE or ABORTED. */
    String result = 'SUCCESS'
    /** The message of the first failure, or null. */
    String error
    /** [name, status] per stage, in the order they came: ran, skipped, failed or not run. */
    List<Map> stages = []
    /** [stage, pod, container, script, locks] per sh step. */
    List<Map> shellSteps = []
    /** [tool, argv, env] per run of a fake tool (git, cargo, deployer, curl); env.FAKE_CONTAINER is pod/container. */
    List<Map> invocations = []
    /** [label, stage, pod] per agent pod started, in order. */
    List<Map> pods = []
    /** The fake registry's events: "build built <image>", "push skipped <image>"... */
    List<String> registryEvents = []
    /** [stage, resource] per lock a stage asked for, taken or not yet. */
    List<Map> lockRequests = []
    /** The seconds of each sleep step. */
    List<Integer> sleeps = []
    /** The messages of the unstable step. */
    List<String> warnings = []
    /** Archived path to its content at archive time. */
    Map<String, String> archived = [:]
    /** What echo printed. */
    List<String> echoes = []
    /** The whole build log: echo, sh traces and output. */
    StringBuilder log = new StringBuilder()
    /** Paths requested from the load balancer stand-in. */
    List<String> albRequests = []
    /** Every withCredentials binding list. */
    List credentialBindings = []
    /** currentBuild.description at the end. */
    String description
    /** The declarative model: agent, options, parameters, stages, post. */
    Declarative.Pipeline pipeline
    /** The agent pod, parsed. */
    Map pod

    List<Map> invocationsOf(String tool, String command = null) {
        return invocations.findAll { Map call ->
            call.tool == tool && (command == null || call.argv[0] == command)
        }
    }

    String stageStatus(String name) {
        Map stage = stages.find { Map s -> s.name == name }
        return stage?.status
    }
}
