/**
 * What the agent pods must be (jenkins/resources/ecs-pipeline/*.yaml),
 * judged by what ran in them: the pod that ran cargo holds no deploy
 * credentials and has a cargo cache, the pods that ran deployer run the
 * pinned deployer image under the service account, the pod that built
 * images has a privileged TLS dind with a kept data root, and every
 * container of every pod has requests and limits.
 */
class PodChecks {
    static final List<String> RESOURCES = ['cpu', 'memory', 'ephemeral-storage']

    static List<String> problems(RunRecord run, String deployerImage) {
        List<String> problems = []
        for (Map started in run.pods) {
            problems.addAll(everyPod(started.label.toString(), (Map) started.pod))
        }
        Map<String, Map> pods = run.pods.collectEntries { [(it.label): it.pod] }
        for (Map call in run.invocationsOf('cargo')) {
            problems.addAll(cargoPod(call, pods))
        }
        for (Map call in run.invocationsOf('deployer')) {
            problems.addAll(deployerPod(call, pods, deployerImage))
        }
        return problems.unique()
    }

    /** Every pod: a Pod, no static keys, requests and limits on every container, jnlp included. */
    static List<String> everyPod(String label, Map pod) {
        if (pod == null) {
            return ["the agent ${label} has no pod YAML".toString()]
        }
        List<String> problems = []
        if (pod.kind != 'Pod') {
            problems << "the agent YAML ${label} is a ${pod.kind}, not a Pod".toString()
        }
        List<Map> containers = (List<Map>) (pod.spec?.containers ?: [])
        if (!containers.any { it.name == 'jnlp' }) {
            problems << "pod ${label} does not size the jnlp container the kubernetes plugin adds".toString()
        }
        for (Map container in containers) {
            for (String kind in ['requests', 'limits']) {
                List<String> missing = RESOURCES.findAll { container.resources?.get(kind)?.get(it) == null }
                if (missing) {
                    problems << "container ${container.name} of pod ${label} has no ${kind} for ${missing.join(', ')}".toString()
                }
            }
            for (Map env in (List<Map>) (container.env ?: [])) {
                if (env.name in PipelineChecks.STATIC_KEYS) {
                    problems << "container ${container.name} of pod ${label} sets ${env.name}: no static keys".toString()
                }
            }
        }
        return problems
    }

    /** The pod where cargo ran: no credentials, CARGO_BUILD_JOBS = the CPU limit, a cargo cache, safe.directory. */
    static List<String> cargoPod(Map call, Map<String, Map> pods) {
        List<String> problems = []
        String[] where = call.env.FAKE_CONTAINER.toString().split('/', 2)
        Map pod = pods[where[0]]
        Map container = pod?.spec?.containers?.find { it.name == where[1] }
        if (container == null) {
            return ["cargo ran in ${call.env.FAKE_CONTAINER}, which the pods do not declare".toString()]
        }
        if (pod.spec.serviceAccountName || pod.spec.automountServiceAccountToken != false) {
            problems << "cargo ${call.argv[0]} ran in pod ${where[0]}, which has a service account or its token: ".toString() +
                'tests and build scripts must not run beside the deploy credentials'
        }
        String cpuLimit = container.resources?.limits?.cpu?.toString()
        if (!cpuLimit?.isInteger() || call.env.CARGO_BUILD_JOBS != cpuLimit) {
            problems << "cargo ran with CARGO_BUILD_JOBS=${call.env.CARGO_BUILD_JOBS}, not the CPU limit ${cpuLimit}".toString()
        }
        Map<String, String> env = variables(container)
        List<String> keys = env.findAll { it.key ==~ /GIT_CONFIG_KEY_\d+/ && it.value == 'safe.directory' }*.key
        if (!keys || env.GIT_CONFIG_COUNT == null) {
            problems << "container ${where[1]} does not mark the workspace as git's safe.directory".toString()
        }
        List<String> cached = [env.CARGO_HOME, env.CARGO_TARGET_DIR].findAll { it && onClaim(pod, container, it) }
        if (cached.size() != 2) {
            problems << "CARGO_HOME and CARGO_TARGET_DIR of ${where[1]} are not both on a persistent volume claim".toString()
        }
        return problems
    }

    /** The pod where deployer ran: the pinned image, the service account; an engine only for build and push. */
    static List<String> deployerPod(Map call, Map<String, Map> pods, String deployerImage) {
        List<String> problems = []
        String[] where = call.env.FAKE_CONTAINER.toString().split('/', 2)
        Map pod = pods[where[0]]
        Map container = pod?.spec?.containers?.find { it.name == where[1] }
        String command = "deployer ${call.argv[0]}"
        if (container == null) {
            return ["${command} ran in ${call.env.FAKE_CONTAINER}, which the pods do not declare".toString()]
        }
        if (container.image != deployerImage) {
            problems << "${command} ran from image ${container.image}, not the pinned deployer image".toString()
        }
        if (!pod.spec.serviceAccountName) {
            problems << "${command} ran in pod ${where[0]}, which names no serviceAccountName, the only source of AWS credentials".toString()
        }
        List<Map> containers = (List<Map>) pod.spec.containers
        Map dind = containers.find { it.image?.toString()?.contains('dind') }
        if (call.argv[0] in ['build', 'push']) {
            problems.addAll(engine(container, dind, pod))
        } else if (containers.any { it.securityContext?.privileged }) {
            problems << "${command} ran in pod ${where[0]}, which has a privileged container it does not need".toString()
        }
        return problems
    }

    /** deployer's engine: a privileged dind over TLS, with its data root on a claim. */
    static List<String> engine(Map deployer, Map dind, Map pod) {
        if (dind == null) {
            return ["pod ${pod.metadata?.labels} has no docker:dind sidecar for deployer build and push".toString()]
        }
        List<String> problems = []
        if (dind.securityContext?.privileged != true) {
            problems << 'the dind sidecar is not privileged, and dockerd cannot run without it'
        }
        String certDir = variables(dind).DOCKER_TLS_CERTDIR
        if (!certDir) {
            problems << 'the dind sidecar has no DOCKER_TLS_CERTDIR: it would listen without TLS'
        }
        Map<String, String> env = variables(deployer)
        if (!(env.DOCKER_HOST ==~ /tcp:\/\/(localhost|127\.0\.0\.1):2376/)) {
            problems << "deployer's DOCKER_HOST is '${env.DOCKER_HOST}', not dind's TLS port".toString()
        }
        if (env.DOCKER_TLS_VERIFY != '1') {
            problems << 'deployer has no DOCKER_TLS_VERIFY=1'
        }
        String certVolume = deployer.volumeMounts?.find { it.mountPath == env.DOCKER_CERT_PATH }?.name
        String dindVolume = dind.volumeMounts?.find { it.mountPath == "${certDir}/client".toString() }?.name
        if (!env.DOCKER_CERT_PATH || certVolume == null || certVolume != dindVolume) {
            problems << "deployer's DOCKER_CERT_PATH '${env.DOCKER_CERT_PATH}' is not the volume where dind writes its client certificates".toString()
        }
        if (!onClaim(pod, dind, '/var/lib/docker')) {
            problems << "dind's data root /var/lib/docker is not on a persistent volume claim: no layer is cached".toString()
        }
        return problems
    }

    /** Whether `path` in `container` lies on a mounted persistentVolumeClaim. */
    static boolean onClaim(Map pod, Map container, String path) {
        Map mount = container.volumeMounts?.find { path == it.mountPath || path.startsWith("${it.mountPath}/") }
        Map volume = pod.spec.volumes?.find { it.name == mount?.name }
        return volume?.persistentVolumeClaim?.claimName != null
    }

    static Map<String, String> variables(Map container) {
        return ((List<Map>) (container.env ?: [])).collectEntries { [(it.name.toString()): it.value?.toString()] }
    }
}
