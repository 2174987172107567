/** What the agent pod must be: see jenkins/resources/ecs-pipeline/pod.yaml. */
class PodChecks {
    static List<String> problems(Map pod) {
        if (pod == null) {
            return ['the agent has no pod YAML']
        }
        List<String> problems = []
        if (pod.kind != 'Pod') {
            problems << "the agent YAML is a ${pod.kind}, not a Pod".toString()
        }
        if (!pod.spec?.serviceAccountName) {
            problems << 'the pod names no serviceAccountName, the only source of AWS credentials'
        }
        List<Map> containers = (List<Map>) (pod.spec?.containers ?: [])
        Map rust = containers.find { it.name == 'rust' }
        Map dind = containers.find { it.image?.toString()?.contains('dind') }
        if (rust == null || !rust.image?.toString()?.startsWith('rust:')) {
            problems << 'the pod has no container rust running a rust: image'
        }
        if (dind == null) {
            return problems + ['the pod has no docker:dind sidecar']
        }
        if (dind.securityContext?.privileged != true) {
            problems << 'the dind sidecar is not privileged, and dockerd cannot run without it'
        }
        String certDir = variable(dind, 'DOCKER_TLS_CERTDIR')
        if (!certDir) {
            problems << 'the dind sidecar has no DOCKER_TLS_CERTDIR: it would listen without TLS'
        }
        if (rust != null) {
            if (!(variable(rust, 'DOCKER_HOST') ==~ /tcp:\/\/(localhost|127\.0\.0\.1):2376/)) {
                problems << "rust's DOCKER_HOST is '${variable(rust, 'DOCKER_HOST')}', not dind's TLS port".toString()
            }
            if (variable(rust, 'DOCKER_TLS_VERIFY') != '1') {
                problems << 'rust has no DOCKER_TLS_VERIFY=1'
            }
            String certPath = variable(rust, 'DOCKER_CERT_PATH')
            String rustVolume = rust.volumeMounts?.find { it.mountPath == certPath }?.name
            String dindVolume = dind.volumeMounts?.find { it.mountPath == "${certDir}/client".toString() }?.name
            if (!certPath || rustVolume == null || rustVolume != dindVolume) {
                problems << "rust's DOCKER_CERT_PATH '${certPath}' is not the volume where dind writes its client certificates".toString()
            }
        }
        for (Map container in containers) {
            for (Map env in (List<Map>) (container.env ?: [])) {
                if (env.name in PipelineChecks.STATIC_KEYS) {
                    problems << "container ${container.name} sets ${env.name}: no static keys".toString()
                }
            }
        }
        return problems
    }

    private static String variable(Map container, String name) {
        return container.env?.find { it.name == name }?.value?.toString()
    }
}
