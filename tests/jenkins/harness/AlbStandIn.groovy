import com.sun.net.httpserver.HttpExchange
import com.sun.net.httpserver.HttpServer
import groovy.json.JsonOutput

/**
 * Stands in for the load balancer in front of one app, on 127.0.0.1: the
 * app's health path answers healthStatus, each microservice's own path
 * answers its description with `version`, anything else 404. Records every
 * path requested.
 */
class AlbStandIn {
    private final HttpServer server
    final List<String> requests = Collections.synchronizedList([])

    private int healthFailures

    /**
     * healthFailures: the first health requests answer 503; serviceBody:
     * what the microservice paths answer instead of their JSON.
     */
    AlbStandIn(Map appConfig, String healthPath, int healthStatus, String version, int healthFailures = 0,
               String serviceBody = null) {
        this.healthFailures = healthFailures
        server = HttpServer.create(new InetSocketAddress(InetAddress.getByName('127.0.0.1'), 0), 0)
        server.createContext('/') { HttpExchange exchange ->
            String path = exchange.requestURI.path
            requests << path
            int status = healthStatus
            if (path == healthPath && this.healthFailures > 0) {
                this.healthFailures--
                status = 503
            }
            Map answer = answer(appConfig, healthPath, status, version, path)
            String text = answer.body instanceof String ? answer.body : JsonOutput.toJson(answer.body)
            if (serviceBody != null && answer.status == 200 && path != healthPath) {
                text = serviceBody
            }
            byte[] body = text.getBytes('UTF-8')
            exchange.responseHeaders.add('Content-Type', 'application/json')
            // A length of -1 sends no body at all.
            exchange.sendResponseHeaders((int) answer.status, body.length ?: -1)
            exchange.responseBody.withStream { it.write(body) }
        }
        server.start()
    }

    private static Map answer(Map appConfig, String healthPath, int healthStatus, String version, String path) {
        if (path == healthPath) {
            return [status: healthStatus, body: [status: healthStatus == 200 ? 'ok' : 'unavailable']]
        }
        Map microservice = appConfig.microservices.find { Map m -> path == "/${m.name}".toString() }
        if (microservice != null) {
            return [status: 200, body: [microservice: microservice.name, app: appConfig.app, version: version]]
        }
        return [status: 404, body: [error: 'not found', path: path]]
    }

    String getUrl() {
        return "http://127.0.0.1:${server.address.port}"
    }

    void stop() {
        server.stop(0)
    }
}
