import groovy.json.JsonException
import groovy.json.JsonSlurperClassic

// Verify: requests through the load balancer to the app's health path, and
// to a microservice path, whose answer must report the new tag as its
// version. A rollout can complete while the load balancer still counts the
// new targets unhealthy or drains the old ones; this is what a user would
// see. It retries until a deadline that the app's health check settings
// give, and returns why the last attempt failed, or null.

/** Seconds between two attempts. */
int pauseSeconds() {
    return 5
}

/**
 * How long the load balancer may take to send every request to the new
 * tasks once the rollout completed: a new target is healthy after
 * healthy_threshold probes interval_seconds apart (the last one may take
 * timeout_seconds), and an old one drains for the deregistration delay.
 * The defaults are those of the config crate (config/src/app.rs).
 */
int deadlineSeconds(Map appConfig) {
    Map check = appConfig.health_check ?: [:]
    int healthy = (check.healthy_threshold ?: 3) as int
    int interval = (check.interval_seconds ?: 15) as int
    int timeout = (check.timeout_seconds ?: 5) as int
    int drain = (appConfig.deploy?.deregistration_delay_seconds ?: 15) as int
    return healthy * interval + timeout + drain
}

/**
 * Checks the app behind settings.albUrl serves `tag`, attempt after
 * attempt until the deadline. Returns null when it does, or else why the
 * last attempt failed.
 */
String call(Map settings, Map appConfig, String tag) {
    int deadline = deadlineSeconds(appConfig)
    int attempts = (int) Math.ceil(deadline / (double) pauseSeconds()) + 1
    String problem = null
    for (int attempt = 1; attempt <= attempts; attempt++) {
        problem = tryOnce(settings, appConfig, tag)
        if (problem == null) {
            echo("Verify: the load balancer serves version ${tag} and the health path is healthy " +
                "(attempt ${attempt} of ${attempts})")
            return null
        }
        echo("Verify: attempt ${attempt} of ${attempts}: ${problem}")
        if (attempt < attempts) {
            sleep(time: pauseSeconds(), unit: 'SECONDS')
        }
    }
    return "${problem} (still after ${attempts} attempts over ${deadline}s, the deadline " +
        'from the health check settings)'
}

/** One attempt: null when both requests pass, or else what went wrong. */
String tryOnce(Map settings, Map appConfig, String tag) {
    String healthUrl = settings.albUrl + ecsApp.healthPath(appConfig)
    Map health = fetch(healthUrl)
    if (health.status < 200 || health.status > 299) {
        return "GET ${healthUrl} answered ${describe(health)}, expected 2xx"
    }
    String serviceUrl = settings.albUrl + ecsApp.microservicePath(appConfig)
    Map answer = fetch(serviceUrl)
    if (answer.status != 200) {
        return "GET ${serviceUrl} answered ${describe(answer)}, expected 200"
    }
    if (!answer.body.trim()) {
        return "GET ${serviceUrl} answered HTTP 200 with an empty body, expected JSON with the version"
    }
    Object body = null
    try {
        // Plain Groovy rather than readJSON, whose error type is its own
        // library's: JsonSlurperClassic returns serializable maps.
        body = new JsonSlurperClassic().parseText(answer.body)
    } catch (JsonException notJson) {
        return "GET ${serviceUrl} answered HTTP 200 with a body that is not JSON: ${excerpt(answer.body)}"
    }
    if (!Map.isInstance(body)) {
        return "GET ${serviceUrl} answered HTTP 200 with JSON that is not an object: ${excerpt(answer.body)}"
    }
    if (body.version != tag) {
        return "GET ${serviceUrl} reports version '${body.version}', expected the new tag '${tag}'"
    }
    return null
}

/** One GET through curl in the deployer container: [status: int, body: String]. */
Map fetch(String url) {
    String output = ''
    container('deployer') {
        // The status goes on a line of its own after the body; 000 when
        // nothing answered (curl prints why on stderr).
        String curl = ecsShell.command(['curl', '-sS', '--max-time', '10', '-w', '\\n%{http_code}', url])
        output = sh(label: "GET ${url}", script: curl + ' || true', returnStdout: true)
    }
    int cut = output.lastIndexOf('\n')
    String status = output.substring(cut + 1).trim()
    return [status: status.isInteger() ? status.toInteger() : 0, body: cut > 0 ? output.substring(0, cut) : '']
}

/** HTTP 503, or "nothing" when nothing answered (curl's 000). */
String describe(Map answer) {
    return answer.status ? "HTTP ${answer.status}" : 'nothing (no answer: curl reported status 000)'
}

/** The start of a body, on one line, for a message. */
String excerpt(String body) {
    String line = body.replaceAll(/\s+/, ' ').trim()
    return line.length() > 120 ? line.substring(0, 120) + '...' : line
}
