// Where a build deploys to. Each setting comes from the build parameter
// when it is set, or else from an environment variable defined on the job,
// its folder or the controller; none comes from the code. The README's
// Jenkins section says which Terraform output gives each value.

/** The app a Jenkinsfile names, checked: ecsPipeline(app: 'service-a'). */
String appName(Map config) {
    String app = config?.app ?: ''
    if (!(app ==~ /[a-z][a-z0-9-]*/)) {
        error("ecsPipeline: app must name an app of config/, such as ecsPipeline(app: 'service-a'); got '${app}'")
    }
    return app
}

/**
 * Every setting, checked. Fails the build with a message that names the
 * parameter and the variable when a setting is missing or wrong.
 */
Map resolve(String app) {
    Map settings = [
        app: app,
        environment: required('ENVIRONMENT', 'DEPLOY_ENV'),
        region: required('REGION', 'AWS_REGION'),
        cluster: required('CLUSTER', 'ECS_CLUSTER'),
        registry: required('REGISTRY', 'ECR_REGISTRY'),
        albUrl: required('LOAD_BALANCER_URL', 'ALB_URL'),
        imageTag: (params.IMAGE_TAG ?: '').toString().trim(),
        deployerImage: deployerImage(),
    ]
    if (!(settings.registry ==~ /[A-Za-z0-9.-]+(:[0-9]+)?/)) {
        error('ecsPipeline: REGISTRY / ECR_REGISTRY must be a registry host such as ' +
            '123456789012.dkr.ecr.eu-west-1.amazonaws.com (the host part of the Terraform ' +
            "output ecr_repository_urls), got '${settings.registry}'")
    }
    if (!(settings.albUrl ==~ /https?:\/\/[^\s\/]+\/?/)) {
        error('ecsPipeline: LOAD_BALANCER_URL / ALB_URL must be http(s)://host, such as the ' +
            "Terraform output alb_url, got '${settings.albUrl}'")
    }
    settings.albUrl = settings.albUrl.replaceAll(/\/$/, '')
    // The Docker tag grammar, so that the tag is safe in an image URI.
    if (settings.imageTag && !(settings.imageTag ==~ /[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}/)) {
        error("ecsPipeline: IMAGE_TAG '${settings.imageTag}' is not a valid image tag")
    }
    return settings
}

/** The parameter's value if set, or else the environment variable's. */
String required(String parameter, String variable) {
    String fromParameter = (params[parameter] ?: '').toString().trim()
    if (fromParameter) {
        return fromParameter
    }
    String fromEnvironment = (env[variable] ?: '').toString().trim()
    if (fromEnvironment) {
        return fromEnvironment
    }
    error("ecsPipeline: no value for ${parameter}: set the build parameter ${parameter} " +
        "or the environment variable ${variable}")
    return ''
}

/**
 * The prebuilt deployer image (Dockerfile.deployer) the agent pods run,
 * from the variable DEPLOYER_IMAGE, pinned by digest so that every build
 * of every job runs the deployer that was built and tested, and nothing a
 * later push puts under the same tag.
 */
String deployerImage() {
    String image = (env.DEPLOYER_IMAGE ?: '').toString().trim()
    if (!image) {
        error('ecsPipeline: no value for DEPLOYER_IMAGE: set the environment variable DEPLOYER_IMAGE to ' +
            'the deployer image the deployer job pushed, pinned by digest ' +
            '(<registry>/ecs-pipeline-deployer@sha256:<64 hex digits>)')
    }
    if (!(image ==~ /[a-z0-9][a-z0-9.:\/_-]*@sha256:[0-9a-f]{64}/)) {
        error("ecsPipeline: DEPLOYER_IMAGE must be pinned by digest, such as " +
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ecs-pipeline-deployer@sha256:<64 hex digits>; got '${image}'")
    }
    return image
}
