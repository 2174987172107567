import groovy.json.JsonSlurperClassic

/**
 * What the checks expect of an app, read from its config/<app>.json on
 * their own (not through the library under test), with the defaults the
 * config crate documents.
 */
class AppFacts {
    static Map load(File repoRoot, String app) {
        return (Map) new JsonSlurperClassic().parse(new File(repoRoot, "config/${app}.json"))
    }

    static String repository(Map config) {
        return config.deploy?.repository ?: config.app
    }

    static String healthPath(Map config) {
        Map first = (Map) config.microservices[0]
        return config.health_check?.path ?: first.health_path ?: "/${first.name}/health".toString()
    }

    static String microservicePath(Map config) {
        return "/${config.microservices[0].name}".toString()
    }
}
