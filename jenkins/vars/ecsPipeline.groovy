// The delivery pipeline of one app, on a Kubernetes agent: Test, Build &
// tag, Push, Deploy, Verify. Each jenkins/<app>.Jenkinsfile calls it with
// its app's name; what the app is comes from config/<app>.json (ecsApp),
// where it deploys from the build's parameters or environment (ecsSettings).

/** Runs the whole pipeline for config.app. */
void call(Map config) {
    String app = ecsSettings.appName(config)
    String podYaml = libraryResource('ecs-pipeline/pod.yaml')
    // What the stages find out, for the stages after them and for the
    // failure summary.
    Map state = [app: app, stage: 'none', settings: [:], tag: '', appConfig: [:], deploy: [:]]

    pipeline {
        agent {
            kubernetes {
                yaml podYaml
            }
        }
        options {
            // Two deploys of one app never overlap: a second build waits.
            disableConcurrentBuilds()
            timeout(time: 60, unit: 'MINUTES')
            buildDiscarder(logRotator(numToKeepStr: '30'))
            timestamps()
        }
        parameters {
            string(name: 'IMAGE_TAG', defaultValue: '', trim: true,
                description: 'Redeploy this tag, already in the app\'s repository, without building: ' +
                    'skips Build & tag and Push. Empty: build and deploy the checked-out commit.')
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
            stage('Test') {
                steps {
                    script {
                        state.stage = env.STAGE_NAME
                        // Here rather than before the pipeline block, so that
                        // Jenkins learns the parameters even from a build
                        // that lacks a setting.
                        state.settings = ecsSettings.resolve(app)
                        // A set IMAGE_TAG is the tag; otherwise Build & tag sets it.
                        state.tag = state.settings.imageTag
                        state.appConfig = ecsApp.load(app)
                        container('rust') {
                            String test = ecsShell.command(['cargo', 'test', '--locked', '-p', app])
                            sh(label: "cargo test -p ${app}", script: test)
                        }
                    }
                }
            }
            stage('Build & tag') {
                when { expression { !state.settings.imageTag } }
                steps {
                    script {
                        state.stage = env.STAGE_NAME
                        String sha = sh(label: 'short git SHA', returnStdout: true,
                            script: 'git rev-parse --short HEAD')
                        state.tag = sha.trim()
                        ecsDeployer.runBuild(state.settings, state.tag)
                    }
                }
            }
            stage('Push') {
                when { expression { !state.settings.imageTag } }
                steps {
                    script {
                        state.stage = env.STAGE_NAME
                        ecsDeployer.runPush(state.settings, state.tag)
                    }
                }
            }
            stage('Deploy') {
                steps {
                    script {
                        state.stage = env.STAGE_NAME
                        String repository = ecsApp.repository(state.appConfig)
                        String image = "${state.settings.registry}/${repository}:${state.tag}"
                        state.deploy = ecsDeployer.runDeploy(state.settings, image)
                        ecsDeployer.requireSuccess(app, state.deploy)
                    }
                }
            }
            stage('Verify') {
                steps {
                    script {
                        state.stage = env.STAGE_NAME
                        ecsVerify(state.settings, state.appConfig, state.tag)
                    }
                }
            }
        }
        post {
            failure {
                script {
                    String summary = failureSummary(state)
                    echo(summary)
                    currentBuild.description = summary
                }
            }
        }
    }
}

/** One line: the app, the stage that failed, and how deployer's deploy ended. */
String failureSummary(Map state) {
    String deployer = 'not run'
    if (state.deploy) {
        deployer = "${state.deploy.outcome} (exit ${state.deploy.exit_code}): ${state.deploy.message}"
    }
    return "FAILED: ${state.app}, stage ${state.stage}; deployer deploy: ${deployer}"
}
