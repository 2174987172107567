/** One run of a pipeline: what goes in, and how the world behaves. */
class Scenario {
    /** A parameter or variable with this value gets the load balancer stand-in's URL. */
    static final String ALB_URL = '<load balancer stand-in>'

    /** A short name for messages. */
    String name
    /** The build parameters given. */
    Map<String, String> params = [:]
    /** The job's environment variables. */
    Map<String, String> jobEnvironment = [:]
    /** The variables set on the job's folder (folder-properties). */
    Map<String, String> folderEnvironment = [:]
    /** What `git rev-parse --short HEAD` answers. */
    String gitSha = 'c0ffee1'
    /** The JSON deploy writes to --result-file; null writes none. */
    Map deployResult
    /** deployer deploy's exit code. */
    int deployExit = 0
    /** deployer rollback's exit code. */
    int rollbackExit = 0
    /** cargo test's exit code. */
    int testExit = 0
    /** deployer build's and push's exit codes. */
    int buildExit = 0
    int pushExit = 0
    /** The registry (and the Docker data root) of an earlier run, for a rerun; null: empty ones. */
    File registryDir
    File engineDir
    /** The version the load balancer's app reports; null: the tag deployed. */
    String servedVersion
    /** What the health path answers. */
    int healthStatus = 200
    /** How many health requests answer 503 before healthStatus. */
    int healthFailures = 0
    /** The microservice path's body instead of its JSON; null: the JSON. */
    String serviceBody
    /** curl fails as when nothing listens (status 000). */
    boolean curlFails
    /** [stage: name, cause: 'abort' or 'timeout']: the build is interrupted in that stage. */
    Map interrupt = [:]
    /** The build's causes; null: started by a user. */
    List<String> causes
    /** The paths the build's commits change. */
    List<String> changedPaths = []
}
