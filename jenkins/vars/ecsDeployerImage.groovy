// The deployer image job (jenkins/deployer.Jenkinsfile): builds
// Dockerfile.deployer and pushes it to the deployer repository (Terraform
// output deployer_repository_url) with the deployer the app pipelines run
// (DEPLOYER_IMAGE), so the image is built by deployer itself. It runs only
// when deployer's sources change, tags the image with the last commit that
// touched them, skips build and push when that tag is already in the
// registry, and prints the digest to pin as DEPLOYER_IMAGE.

/** The paths (prefixes) the deployer binary is built from. */
List<String> sources() {
    // Every crate Dockerfile.deployer compiles (tests/jenkins checks it).
    return ['deployer/', 'local-gateway/', 'service-core/', 'config/src/', 'config/Cargo.toml', 'telemetry/',
            'Cargo.toml', 'Cargo.lock', 'Dockerfile.deployer']
}

/** The repository of deployer's image: the variable DEPLOYER_REPOSITORY, or Terraform's default. */
String repository() {
    String name = (env.DEPLOYER_REPOSITORY ?: '').toString().trim()
    return name ?: 'ecs-pipeline-deployer'
}

/** The image tag: the short SHA of the last commit that touched deployer's sources. */
String sourcesTag() {
    // In the jnlp container, whose user owns the checkout.
    String sha = sh(label: "last commit of deployer's sources", returnStdout: true,
        script: 'git log -1 --format=%h -- ' + ecsShell.command(sources()))
    if (!sha.trim()) {
        error("deployer image: no commit touches ${sources().join(', ')}")
    }
    return sha.trim()
}

/** deployer build|push of Dockerfile.deployer; returns the result's entry for the repository. */
Map image(String command, Map settings, String tag) {
    String file = "deployer-image-${command}.json"
    List args = [command, '--repository', repository(), '--dockerfile', 'Dockerfile.deployer',
                 '--tag', tag, '--registry', settings.registry, '--region', settings.region,
                 '--skip-existing', '--result-file', file]
    Map result = ecsDeployer.runWithResult(repository(), args, file, [:])
    if (result.exit_code != 0) {
        error("deployer ${command} --repository ${repository()}: ${ecsDeployer.describe(result)}")
    }
    return result
}

/** Runs the job. */
void call() {
    String deployerImage = ''
    withFolderProperties {
        deployerImage = env.DEPLOYER_IMAGE ?: ''
    }
    String buildPod = ecsPods.build('deployer', deployerImage)
    Map state = [stage: 'none', settings: [:], tag: '', scope: [run: true, why: ''], push: [:]]

    pipeline {
        agent none
        options {
            timeout(time: 60, unit: 'MINUTES')
            buildDiscarder(logRotator(numToKeepStr: '30'))
            timestamps()
            disableConcurrentBuilds()
        }
        triggers {
            // A fallback for a controller the push webhook cannot reach.
            pollSCM('H/5 * * * *')
        }
        parameters {
            string(name: 'REGION', defaultValue: '', trim: true,
                description: 'AWS region. Empty: the AWS_REGION variable.')
            string(name: 'REGISTRY', defaultValue: '', trim: true,
                description: 'ECR registry host (of the Terraform output deployer_repository_url). ' +
                    'Empty: the ECR_REGISTRY variable.')
        }
        stages {
            stage('Settings') {
                steps {
                    script {
                        state.stage = env.STAGE_NAME
                        withFolderProperties {
                            state.settings = [
                                region: ecsSettings.required('REGION', 'AWS_REGION'),
                                registry: ecsSettings.required('REGISTRY', 'ECR_REGISTRY'),
                                deployerImage: ecsSettings.deployerImage(),
                            ]
                        }
                        state.scope = ecsScope.touches("deployer's sources", sources())
                        ecsScope.announce('deployer image', state.scope,
                            [verb: 'build', going: 'building', done: 'built'])
                    }
                }
            }
            stage('Image') {
                when {
                    beforeOptions true
                    beforeAgent true
                    expression { state.scope.run }
                }
                options {
                    lock(resource: 'ecs-pipeline-image-deployer')
                }
                agent {
                    kubernetes {
                        yaml buildPod
                    }
                }
                stages {
                    stage('Build & tag') {
                        steps {
                            script {
                                state.stage = env.STAGE_NAME
                                state.tag = sourcesTag()
                                image('build', state.settings, state.tag)
                            }
                        }
                    }
                    stage('Push') {
                        steps {
                            script {
                                state.stage = env.STAGE_NAME
                                state.push = image('push', state.settings, state.tag)
                                String line = state.push.outcome == 'no_change' ?
                                    "deployer image ${state.push.image} was already pushed; " +
                                        'the build that pushed it printed its digest' :
                                    "deployer image pushed; pin it as DEPLOYER_IMAGE=${state.push.image}"
                                ecsDescribe(line)
                            }
                        }
                    }
                }
            }
        }
        post {
            unsuccessful {
                script {
                    ecsDescribe("${currentBuild.currentResult}: deployer image, stage ${state.stage}")
                }
            }
        }
    }
}
