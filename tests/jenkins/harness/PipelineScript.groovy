/**
 * Base class of every script the harness loads, the Jenkinsfiles and the
 * library's vars/*.groovy, playing the part of Jenkins' CpsScript: a call to
 * a method the script does not define goes to a global variable of the
 * library (its call method) or to a stubbed step, as it does in Jenkins.
 */
abstract class PipelineScript extends Script {

    @Override
    Object invokeMethod(String name, Object args) {
        try {
            return super.invokeMethod(name, args)
        } catch (MissingMethodException missing) {
            if (missing.method != name || missing.type != this.getClass()) {
                throw missing
            }
            JenkinsStub jenkins = (JenkinsStub) binding.getVariable(JenkinsStub.BINDING_NAME)
            return jenkins.invoke(name, args)
        }
    }
}
