// Verify: one request through the load balancer to the app's health path,
// and one to a microservice path, whose answer must report the new tag as
// its version. A rollout can complete while the listener still routes
// elsewhere; this is what a user would see.

/** Checks the app behind settings.albUrl serves `tag`. */
void call(Map settings, Map appConfig, String tag) {
    String healthUrl = settings.albUrl + ecsApp.healthPath(appConfig)
    Map health = fetch(healthUrl)
    if (health.status < 200 || health.status > 299) {
        error("Verify: GET ${healthUrl} answered ${describe(health)}, expected 2xx")
    }
    String serviceUrl = settings.albUrl + ecsApp.microservicePath(appConfig)
    Map answer = fetch(serviceUrl)
    if (answer.status != 200) {
        error("Verify: GET ${serviceUrl} answered ${describe(answer)}, expected 200")
    }
    Map body = readJSON(text: answer.body, returnPojo: true)
    if (body.version != tag) {
        error("Verify: GET ${serviceUrl} reports version '${body.version}', expected the new tag '${tag}'")
    }
    echo("Verify: ${healthUrl} is healthy and ${serviceUrl} serves version ${tag}")
}

/** One GET through curl in the rust container: [status: int, body: String]. */
Map fetch(String url) {
    String output = ''
    container('rust') {
        // The status goes on a line of its own after the body; 000 when
        // nothing answered (curl prints why on stderr).
        String curl = ecsShell.command(['curl', '-sS', '--max-time', '10', '-w', '\\n%{http_code}', url])
        output = sh(label: "GET ${url}", script: curl + ' || true', returnStdout: true)
    }
    int cut = output.lastIndexOf('\n')
    String status = output.substring(cut + 1).trim()
    return [status: status.isInteger() ? status.toInteger() : 0, body: cut > 0 ? output.substring(0, cut) : '']
}

/** HTTP 503, or "no answer" when nothing answered. */
String describe(Map answer) {
    return answer.status ? "HTTP ${answer.status}" : 'no answer'
}
