// groovyc --configscript: what Jenkins adds when it compiles a Jenkinsfile
// or a library script, the imports of the @Library and @NonCPS annotations
// (stubbed in stubs/).
import org.codehaus.groovy.control.customizers.ImportCustomizer

ImportCustomizer imports = new ImportCustomizer()
imports.addImports('org.jenkinsci.plugins.workflow.libs.Library', 'com.cloudbees.groovy.cps.NonCPS')
configuration.addCompilationCustomizers(imports)
