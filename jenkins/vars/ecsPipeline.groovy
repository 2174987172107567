// The delivery pipeline of one app, on Kubernetes agents: Settings, Test,
// Image (Build & tag, Push) and Roll out (Deploy, Verify). Each
// jenkins/<app>.Jenkinsfile calls it with its app's name; what the app is
// comes from config/<app>.json (ecsApp), where it deploys from the build's
// parameters or environment (ecsSettings), which pods run it from ecsPods.

/** Runs the whole pipeline for config.app. */
void call(Map config) {
    String app = ecsSettings.appName(config)
    // The pods are read here, before the pipeline block; DEPLOYER_IMAGE is
    // checked in Settings, which fails before any pod that uses it starts.
    // Variables set on the folder reach env only inside withFolderProperties.
    String deployerImage = ''
    withFolderProperties {
        deployerImage = env.DEPLOYER_IMAGE ?: ''
    }
    String testPod = ecsPods.test()
    String buildPod = ecsPods.build(app, deployerImage)
    String deployPod = ecsPods.deploy(app, deployerImage)
    // What the stages find out, for the stages after them and for the
    // summary.
    Map state = [app: app, stage: 'none', settings: [:], tag: '', appConfig: [:], deploy: [:],
                 verify: null, rollback: [:], scope: [run: true, why: '']]

    pipeline {
        // Each stage asks for the pod it needs: the tests never share a pod
        // with the deploy credentials, and a rollback needs neither a
        // compiler nor a Docker engine.
        agent none
        options {
            timeout(time: 60, unit: 'MINUTES')
            buildDiscarder(logRotator(numToKeepStr: '30'))
            timestamps()
        }
        triggers {
            // A fallback for a controller that the repository's push webhook
            // cannot reach; with the webhook, drop it (see the README).
            pollSCM('H/5 * * * *')
        }
        parameters {
            string(name: 'IMAGE_TAG', defaultValue: '', trim: true,
                description: 'Redeploy this tag, already in the app\'s repository: skips Test and Image, ' +
                    'and goes straight to Deploy and Verify. Empty: build and deploy the checked-out commit.')
            string(name: 'ENVIRONMENT', defaultValue: '', trim: true,
                description: 'The environment the app runs as (APP_ENV). Empty: the DEPLOY_ENV variable.')
            string(name: 'REGION', defaultValue: '', trim: true,
                description: 'AWS region. Empty: the AWS_REGION variable.')
            string(name: 'CLUSTER', defaultValue: '', trim: true,
                description: 'ECS cluster (Terraform output cluster_name). Empty: the ECS_CLUSTER variable.')
            string(name: 'REGISTRY', defaultValue: '', trim: true,
                description: 'ECR registry host (of the Terraform output ecr_repository_urls). ' +
                    'Empty: the ECR_REGISTRY variable.')
            string(name: 'LOAD_BALANCER_URL', defaultValue: '', trim: true,
                description: 'Load balancer URL (Terraform output alb_url). Empty: the ALB_URL variable.')
        }
        stages {
            stage('Settings') {
                steps {
                    script {
                        state.stage = env.STAGE_NAME
                        // Here rather than before the pipeline block, so that
                        // Jenkins learns the parameters even from a build
                        // that lacks a setting.
                        withFolderProperties {
                            state.settings = ecsSettings.resolve(app)
                        }
                        // A set IMAGE_TAG is the tag; otherwise Build & tag sets it.
                        state.tag = state.settings.imageTag
                        state.scope = ecsScope.decide(app, state.settings.imageTag)
                        ecsScope.announce(app, state.scope, [verb: 'deploy', going: 'deploying', done: 'deployed'])
                    }
                }
            }
            stage('Test') {
                when {
                    beforeAgent true
                    expression { state.scope.run && !state.settings.imageTag }
                }
                agent {
                    kubernetes {
                        yaml testPod
                    }
                }
                steps {
                    script {
                        state.stage = env.STAGE_NAME
                        state.appConfig = ecsApp.load(app)
                        container('rust') {
                            String test = ecsShell.command(['cargo', 'test', '--locked', '-p', app])
                            sh(label: "cargo test -p ${app}", script: test)
                        }
                    }
                }
            }
            stage('Image') {
                // Evaluated before the lock is taken, so that a skipped
                // stage never waits for another build's lock.
                when {
                    beforeOptions true
                    beforeAgent true
                    expression { state.scope.run && !state.settings.imageTag }
                }
                options {
                    // The app's Docker data root volume: one engine at a time.
                    lock(resource: "ecs-pipeline-image-${app}")
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
                                state.appConfig = ecsApp.load(app)
                                // In the jnlp container, whose user owns the checkout.
                                String sha = sh(label: 'short git SHA', returnStdout: true,
                                    script: 'git rev-parse --short HEAD')
                                state.tag = sha.trim()
                                ecsDeployer.runBuild(state.settings, state.tag)
                            }
                        }
                    }
                    stage('Push') {
                        steps {
                            script {
                                state.stage = env.STAGE_NAME
                                ecsDeployer.runPush(state.settings, state.tag)
                            }
                        }
                    }
                }
            }
            stage('Roll out') {
                when {
                    beforeOptions true
                    beforeAgent true
                    expression { state.scope.run }
                }
                options {
                    // Two deploys of one app never overlap; the tests and the
                    // image build of another build do not hold it, so a
                    // rollback never waits for them.
                    lock(resource: "ecs-pipeline-deploy-${app}")
                }
                agent {
                    kubernetes {
                        yaml deployPod
                    }
                }
                stages {
                    stage('Deploy') {
                        steps {
                            script {
                                state.stage = env.STAGE_NAME
                                state.appConfig = ecsApp.load(app)
                                String repository = ecsApp.repository(state.appConfig)
                                String image = "${state.settings.registry}/${repository}:${state.tag}"
                                ecsDeployer.runDeploy(state.settings, image, state.deploy)
                                ecsDeployer.requireSuccess(app, state.deploy)
                                if (state.deploy.outcome == 'scaled_to_zero') {
                                    unstable("deployer deploy ${app}: ${ecsDeployer.describe(state.deploy)}; " +
                                        'Verify skipped: no task runs to answer it')
                                }
                            }
                        }
                    }
                    stage('Verify') {
                        when {
                            expression { state.deploy.outcome != 'scaled_to_zero' }
                        }
                        steps {
                            script {
                                state.stage = env.STAGE_NAME
                                state.verify = ecsVerify(state.settings, state.appConfig, state.tag)
                                if (state.verify != null) {
                                    // The rollout completed, but users do not get
                                    // the new version: put the old one back.
                                    ecsDeployer.runRollback(state.settings, state.rollback)
                                    error("Verify: ${state.verify}; deployer rollback ${app}: " +
                                        ecsDeployer.describe(state.rollback))
                                }
                            }
                        }
                    }
                }
            }
        }
        post {
            // Failed, aborted (by hand or by the timeout) or unstable.
            unsuccessful {
                script {
                    ecsDescribe(summary(state))
                }
            }
        }
    }
}

/**
 * One line: how the build ended, the app, the stage, and how deployer's
 * deploy (and a rollback after Verify) ended.
 */
String summary(Map state) {
    String result = currentBuild.currentResult
    String ending = result == 'FAILURE' ? 'FAILED' : result
    if (result == 'ABORTED') {
        // The timeout option and a person's abort both end ABORTED; only
        // the time the build ran tells them apart.
        long minutes = (System.currentTimeMillis() - currentBuild.startTimeInMillis) / 60000
        ending = minutes >= 60 ? 'TIMED OUT after 60 minutes' : 'ABORTED'
    }
    String deployer = state.deploy ? ecsDeployer.describe(state.deploy) : 'not run'
    String line = "${ending}: ${state.app}, stage ${state.stage}; deployer deploy: ${deployer}"
    if (state.verify != null) {
        line += "; Verify: ${state.verify}"
    }
    if (state.rollback) {
        line += "; deployer rollback: ${ecsDeployer.describe(state.rollback)}"
    }
    return line
}
