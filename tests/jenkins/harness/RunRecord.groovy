/** Everything one run of a pipeline did, for the checks to assert on. */
class RunRecord {
    /** SUCCESS or FAILURE. */
    String result = 'SUCCESS'
    /** The message of the first failure, or null. */
    String error
    /** [name, status] per stage, in the order they came: ran, skipped, failed or not run. */
    List<Map> stages = []
    /** [stage, container, script] per sh step. */
    List<Map> shellSteps = []
    /** [tool, argv, env] per run of a fake tool (git, cargo, deployer). */
    List<Map> invocations = []
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
