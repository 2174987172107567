// groovyc --configscript: what Jenkins adds when it compiles a Jenkinsfile,
// the import of the @Library annotation (stubbed in stubs/).
import org.codehaus.groovy.control.customizers.ImportCustomizer

ImportCustomizer imports = new ImportCustomizer()
imports.addImports('org.jenkinsci.plugins.workflow.libs.Library')
configuration.addCompilationCustomizers(imports)
