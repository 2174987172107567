// deployer, the workspace's own CLI (deployer/), does every image and ECS
// step. It runs in the deployer container of the Image and Roll out pods,
// from the prebuilt image (Dockerfile.deployer, the variable
// DEPLOYER_IMAGE): no build compiles it. In the Image pod DOCKER_HOST,
// DOCKER_TLS_VERIFY and DOCKER_CERT_PATH point its Docker connection at the
// dind sidecar. AWS credentials come from the pod's service account,
// through the standard AWS chain that deployer uses.

/** Where deploy writes its JSON result, archived with the build. */
String resultFile() {
    return 'deploy-result.json'
}

/** Where rollback writes its JSON result, archived with the build. */
String rollbackResultFile() {
    return 'rollback-result.json'
}

/**
 * deployer build: the app's image, as <registry>/<repository>:<tag>. With
 * --skip-existing, a tag already in the repository (a rerun of a built
 * commit) is neither built nor pushed: ECR tags are immutable.
 */
void runBuild(Map settings, String tag) {
    List args = ['build', settings.app, '--tag', tag, '--registry', settings.registry,
                 '--region', settings.region, '--skip-existing']
    require(settings.app, 'build', execute(args))
}

/** deployer push: that image, to the app's repository in the registry, unless it is there. */
void runPush(Map settings, String tag) {
    List args = ['push', settings.app, '--tag', tag, '--registry', settings.registry,
                 '--region', settings.region, '--skip-existing']
    require(settings.app, 'push', execute(args))
}

/**
 * deployer deploy of an image already in the registry: registers the new
 * revision, rolls it out and waits for it (rolling back on failure), then
 * archives the JSON result. Returns the app's entry of that result, with
 * exit_code set to deployer's own exit code. `into` receives the result
 * even when the build is aborted while deployer runs (deployer then rolls
 * back and reports `interrupted`), for the summary.
 */
Map runDeploy(Map settings, String image, Map into) {
    List args = [
        'deploy', settings.app, '--image', image,
        '--cluster', settings.cluster, '--region', settings.region,
        '--environment', settings.environment,
        '--timeout', '15m', '--result-file', resultFile(),
    ]
    return runWithResult(settings.app, args, resultFile(), into)
}

/**
 * deployer rollback: the app back on the revision before the one the last
 * deploy registered. Returns its result like runDeploy.
 */
Map runRollback(Map settings, Map into) {
    List args = [
        'rollback', settings.app,
        '--cluster', settings.cluster, '--region', settings.region,
        '--timeout', '15m', '--result-file', rollbackResultFile(),
    ]
    return runWithResult(settings.app, args, rollbackResultFile(), into)
}

/** Runs deployer with `args`, then reads and archives its result file into `into`. */
Map runWithResult(String app, List args, String file, Map into) {
    int status = -1
    try {
        status = execute(args)
    } finally {
        // Also when the step was interrupted (abort, timeout): deployer got
        // the signal, and its result says what it did about it.
        into.putAll(readResult(app, file, status))
    }
    return into
}

/** The app's entry of a result file, with exit_code; a stand-in entry when there is none. */
Map readResult(String app, String file, int status) {
    if (!fileExists(file)) {
        String exit = status < 0 ? 'interrupted' : "exit ${status}"
        return [outcome: 'no_result', exit_code: status,
                message: "deployer wrote no ${file} (${exit}); its own output above says why"]
    }
    archiveArtifacts(artifacts: file)
    Map result = appResult(readJSON(file: file, returnPojo: true), app)
    result.exit_code = status < 0 ? result.exit_code : status
    return result
}

/** Fails the build, with deployer's message, unless the rollout completed. */
void requireSuccess(String app, Map result) {
    if (result.exit_code != 0 || !(result.outcome in ['completed', 'no_change', 'scaled_to_zero'])) {
        error("deployer deploy ${app}: ${describe(result)}")
    }
}

/** An outcome for people: `failed (exit 4): <deployer's message>`. */
String describe(Map result) {
    return "${result.outcome} (exit ${result.exit_code}): ${result.message}"
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
    return [outcome: report.outcome, exit_code: report.exit_code, message: first.message ?: '']
}

/** Runs deployer with these arguments in the deployer container and returns its exit code. */
int execute(List args) {
    int status = 0
    container('deployer') {
        // A build's IMAGE_TAG parameter is in every step's environment, and
        // deployer reads IMAGE_TAG as --tag, which --image refuses: the tag
        // is always passed explicitly instead.
        String command = 'env -u IMAGE_TAG deployer ' + ecsShell.command(args)
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
