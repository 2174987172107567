// The parts of config/<app>.json that the pipeline reads. The config crate
// (config/src/app.rs) defines the file and its defaults; the helpers below
// apply the same defaults as its methods of the same name.

/** Reads config/<app>.json from the checked-out workspace. */
Map load(String app) {
    String file = "config/${app}.json"
    if (!fileExists(file)) {
        error("ecsPipeline: ${file} does not exist: the app must be one of the apps described in config/")
    }
    Map config = readJSON(file: file, returnPojo: true)
    if (config.app != app) {
        error("ecsPipeline: ${file}: field app is '${config.app}', expected '${app}'")
    }
    if (!config.microservices) {
        error("ecsPipeline: ${file}: field microservices is empty, so Verify has no path to request")
    }
    return config
}

/** AppConfig::repository(): deploy.repository, or else the app name. */
String repository(Map config) {
    return config.deploy?.repository ?: config.app
}

/**
 * AppConfig::health_check_path(): health_check.path, or else the first
 * microservice's health path (its health_path, or /<name>/health).
 */
String healthPath(Map config) {
    if (config.health_check?.path) {
        return config.health_check.path
    }
    Map first = config.microservices[0]
    return first.health_path ?: "/${first.name}/health"
}

/** The first microservice's own path, /<name>, which reports its version. */
String microservicePath(Map config) {
    return "/${config.microservices[0].name}"
}
