// Whether a build's commits touch the app: each job deploys only when its
// app's inputs change. A build that a person started (Build Now, a rerun,
// IMAGE_TAG) always runs; so does one without a change list (the job's
// first build).

/** The paths (prefixes) whose change rebuilds and redeploys `app`. */
List<String> inputs(String app) {
    // Every Dockerfile at the root counts: which one the app uses is in its
    // JSON, which this agent-less stage cannot read.
    return ["${app}/", 'service-core/', 'telemetry/', 'config/src/', 'config/Cargo.toml',
            "config/${app}.json", 'Cargo.toml', 'Cargo.lock', 'Dockerfile'].collect { it.toString() }
}

/** [run: boolean, why: String]: whether this build goes on, and why. */
Map decide(String app, String imageTag) {
    if (imageTag) {
        return [run: true, why: "IMAGE_TAG ${imageTag} is redeployed"]
    }
    return touches("${app}'s inputs", inputs(app))
}

/**
 * [run: boolean, why: String]: whether the build's commits touch one of
 * `prefixes`, the paths of `what` (such as "service-a's inputs"). A build
 * that a person or another job started runs, as does one without a change
 * list.
 */
Map touches(String what, List<String> prefixes) {
    if (!triggeredByScm(currentBuild.getBuildCauses())) {
        return [run: true, why: 'started by hand or by another job']
    }
    List<String> paths = changedPaths(currentBuild.changeSets)
    if (!paths) {
        return [run: true, why: 'no change list (the first build of the job)']
    }
    List<String> touched = paths.findAll { String path -> prefixes.any { path.startsWith(it) } }
    if (touched) {
        return [run: true, why: "changed: ${touched.take(5).join(', ')}"]
    }
    return [run: false, why: "no change to ${what} (${prefixes.join(', ')})"]
}

/**
 * Logs whether the build goes on and why, as "<subject>: <going>: <why>"
 * or "<subject>: nothing to <verb>: <why>"; a build that ends here says
 * "<subject>: nothing <done>, <why>" in its description.
 */
void announce(String subject, Map scope, Map words) {
    String doing = scope.run ? words.going : "nothing to ${words.verb}"
    echo("${subject}: ${doing}: ${scope.why}")
    if (!scope.run) {
        currentBuild.description = "${subject}: nothing ${words.done}, ${scope.why}"
    }
}

/** Whether every cause of the build is an SCM trigger (polling or a push webhook). */
@NonCPS
boolean triggeredByScm(List causes) {
    List<String> scm = ['SCMTrigger', 'GitHubPushCause', 'BranchEventCause', 'BranchIndexingCause']
    return causes && causes.every { Map cause -> scm.any { cause._class?.toString()?.contains(it) } }
}

/** Every path the build's change sets touch. */
@NonCPS
List<String> changedPaths(List changeSets) {
    List<String> paths = []
    for (Object changeSet in changeSets) {
        for (Object entry in changeSet.items) {
            paths.addAll(entry.affectedPaths.collect { it.toString() })
        }
    }
    return paths
}
