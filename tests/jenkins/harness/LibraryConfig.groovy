import org.yaml.snakeyaml.Yaml

/**
 * The shared libraries Jenkins knows, read from the configuration-as-code
 * block of jenkins/README.md (unclassified.globalLibraries.libraries), and
 * how a Jenkinsfile's @Library resolves against them, as Jenkins resolves
 * it: an unknown name fails the build, a version fails unless the library
 * allows overrides, and only the library's libraryPath is loaded.
 */
class LibraryConfig {
    /** Each configured library, by name. */
    final Map<String, Map> libraries

    LibraryConfig(Map<String, Map> libraries) {
        this.libraries = libraries
    }

    /** The libraries of the first ```yaml block of `readme` that configures globalLibraries. */
    static LibraryConfig fromReadme(File readme) {
        List<String> blocks = []
        StringBuilder block = null
        for (String line in readme.readLines()) {
            String trimmed = line.trim()
            if (block == null && trimmed == '```yaml') {
                block = new StringBuilder()
            } else if (block != null && trimmed == '```') {
                blocks << block.toString().stripIndent()
                block = null
            } else if (block != null) {
                block << line << '\n'
            }
        }
        String casc = blocks.find { it.contains('globalLibraries') }
        if (casc == null) {
            return new LibraryConfig([:])
        }
        Map document = (Map) new Yaml().load(casc)
        List<Map> configured = (List<Map>) (document?.unclassified?.globalLibraries?.libraries ?: [])
        return new LibraryConfig(configured.collectEntries { [(it.name.toString()): it] })
    }

    /**
     * The libraries a Jenkinsfile loads, [name: libraryPath], or a
     * PipelineAbort with Jenkins' reason. Implicit libraries load without
     * @Library.
     */
    Map<String, String> resolve(String jenkinsfileText) {
        Map<String, String> loaded = [:]
        libraries.findAll { it.value.implicit == true }.each { loaded[it.key] = libraryPath(it.value) }
        def matcher = jenkinsfileText =~ /@Library\(\s*'([^'@]+)(?:@([^']*))?'\s*\)/
        for (List match in matcher) {
            String name = match[1]
            String version = match[2]
            Map library = libraries[name]
            if (library == null) {
                throw new PipelineAbort("No library named ${name} found: the README's configuration " +
                    "configures ${libraries.keySet()}")
            }
            if (version && library.allowVersionOverride != false) {
                // Jenkins would load the named branch, unsandboxed.
                loaded[name] = libraryPath(library)
            } else if (version) {
                throw new PipelineAbort("Version override not permitted for library ${name}")
            } else {
                loaded[name] = libraryPath(library)
            }
        }
        return loaded
    }

    /** The retriever's libraryPath, '' for a library at the repository's root. */
    static String libraryPath(Map library) {
        return (library.retriever?.modernSCM?.libraryPath ?: '').toString()
    }

    /** What the configuration must say for this repository's library. */
    List<String> problems(String name, String expectedPath) {
        Map library = libraries[name]
        if (library == null) {
            return ["the README's configuration-as-code block configures no library ${name}".toString()]
        }
        List<String> problems = []
        if (library.allowVersionOverride != false) {
            problems << "the README's library ${name} allows version overrides: any job could load any branch of it, unsandboxed".toString()
        }
        if (!library.defaultVersion) {
            problems << "the README's library ${name} has no defaultVersion".toString()
        }
        if (libraryPath(library) != expectedPath) {
            problems << "the README's library ${name} has libraryPath '${libraryPath(library)}', expected '${expectedPath}'".toString()
        }
        return problems
    }
}
