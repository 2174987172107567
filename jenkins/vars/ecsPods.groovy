// The agent pods, from the library's resources (resources/ecs-pipeline/):
// Test runs in a pod without deploy credentials; Image builds and pushes in
// a pod with deployer and a Docker engine; Roll out deploys and verifies in
// a pod with deployer alone.

/** The Test stage's pod: the rust toolchain, a cargo cache, no service account. */
String test() {
    return libraryResource('ecs-pipeline/test-pod.yaml')
}

/** The Image stage's pod: the prebuilt deployer and the dind sidecar. */
String build(String app, String deployerImage) {
    return render('build-pod.yaml', app, deployerImage)
}

/** The Roll out stage's pod: the prebuilt deployer alone. */
String deploy(String app, String deployerImage) {
    return render('deploy-pod.yaml', app, deployerImage)
}

/**
 * A pod resource with its placeholders replaced. An unset image becomes a
 * name no registry serves; the Settings stage fails the build before any
 * pod that uses it is asked for.
 */
String render(String resource, String app, String deployerImage) {
    String image = deployerImage ?: 'deployer-image-is-not-set'
    return libraryResource("ecs-pipeline/${resource}")
        .replace('@APP@', app)
        .replace('@DEPLOYER_IMAGE@', image)
}
