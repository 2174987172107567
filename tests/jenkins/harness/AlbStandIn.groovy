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

    AlbStandIn(Map appConfig, String healthPath, int healthStatus, String version) {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getByName('127.0.0.1'), 0), 0)
        server.createContext('/') { HttpExchange exchange ->
            String path = exchange.requestURI.path
            requests << path
            Map answer = answer(appConfig, healthPath, healthStatus, version, path)
            byte[] body = JsonOutput.toJson(answer.body).getBytes('UTF-8')
            exchange.responseHeaders.add('Content-Type', 'application/json')
            exchange.sendResponseHeaders((int) answer.status, body.length)
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
