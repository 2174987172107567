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
    /** What `git rev-parse --short HEAD` answers. */
    String gitSha = 'c0ffee1'
    /** The JSON deploy writes to --result-file; null writes none. */
    Map deployResult
    /** deployer deploy's exit code. */
    int deployExit = 0
    /** The version the load balancer's app reports; null: the tag deployed. */
    String servedVersion
    /** What the health path answers. */
    int healthStatus = 200
}
