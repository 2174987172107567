// deployer, the workspace's own CLI (deployer/), does every image and ECS
// step. It runs in the pod's rust container, where it is built from the
// checked-out commit and where DOCKER_HOST, DOCKER_TLS_VERIFY and
// DOCKER_CERT_PATH point its Docker connection at the dind sidecar. AWS
// credentials come from the pod's service account, through the standard
// AWS chain that deployer uses.

/** Where deploy writes its JSON result, archived with the build. */
String resultFile() {
    return 'deploy-result.json'
}

/** deployer build: the app's image, as <registry>/<repository>:<tag>. */
void runBuild(Map settings, String tag) {
    require(settings.app, 'build', execute(['build', settings.app, '--tag', tag, '--registry', settings.registry]))
}

/** deployer push: that image, to the app's repository in the registry. */
void runPush(Map settings, String tag) {
    List args = ['push', settings.app, '--tag', tag, '--registry', settings.registry, '--region', settings.region]
    require(settings.app, 'push', execute(args))
}

/**
 * deployer deploy of an image already in the registry: registers the new
 * revision, rolls it out and waits for it (rolling back on failure), then
 * archives the JSON result. Returns the app's entry of that result, with
 * exit_code set to deployer's own exit code.
 */
Map runDeploy(Map settings, String image) {
    String file = resultFile()
    int status = execute([
        'deploy', settings.app, '--image', image,
        '--cluster', settings.cluster, '--region', settings.region,
        '--environment', settings.environment,
        '--timeout', '15m', '--result-file', file,
    ])
    if (!fileExists(file)) {
        return [outcome: 'no_result', exit_code: status,
                message: "deployer wrote no ${file}; its own output above says why"]
    }
    archiveArtifacts(artifacts: file)
    Map result = appResult(readJSON(file: file, returnPojo: true), settings.app)
    result.exit_code = status
    return result
}

/** Fails the build, with deployer's message, unless the rollout completed. */
void requireSuccess(String app, Map result) {
    if (result.exit_code != 0 || !(result.outcome in ['completed', 'no_change'])) {
        error("deployer deploy ${app}: ${result.outcome} (exit ${result.exit_code}): ${result.message}")
    }
}

/** The app's entry of a deployer result (one entry per app it acted on). */
Map appResult(Map report, String app) {
    List apps = report.apps ?: []
    for (Map entry in apps) {
        if (entry.app == app) {
            return entry
        }
    }
    // A command that failed before it reached any app reports one entry
    // without a name; the top level holds the outcome either way.
    Map first = apps ? apps[0] : [:]
    return [outcome: report.outcome, message: first.message ?: '']
}

/** Runs deployer with these arguments and returns its exit code. */
int execute(List args) {
    int status = 0
    container('rust') {
        // Built from the checked-out commit; a no-op after the first call.
        sh(label: 'build deployer', script: 'cargo build --release --locked -p deployer')
        // A build's IMAGE_TAG parameter is in every step's environment, and
        // deployer reads IMAGE_TAG as --tag, which --image refuses: the tag
        // is always passed explicitly instead.
        String command = 'env -u IMAGE_TAG ./target/release/deployer ' + ecsShell.command(args)
        status = sh(label: "deployer ${args[0]} ${args[1]}", script: command, returnStatus: true)
    }
    return status
}

/** Fails the build when a deployer command exited non-zero. */
void require(String app, String command, int status) {
    if (status != 0) {
        error("deployer ${command} ${app} failed (exit ${status}); its message is above")
    }
}
