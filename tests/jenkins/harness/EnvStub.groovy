/** The env global: env.NAME and env[NAME] read and write build variables. */
class EnvStub extends GroovyObjectSupport {
    private final Map<String, String> variables = [:]

    /** Every variable, for the environment of a sh step. */
    Map<String, String> all() {
        return Collections.unmodifiableMap(variables)
    }

    void putAll(Map<String, String> values) {
        variables.putAll(values)
    }

    @Override
    Object getProperty(String name) {
        return variables[name]
    }

    @Override
    void setProperty(String name, Object value) {
        if (value == null) {
            variables.remove(name)
        } else {
            variables[name] = value.toString()
        }
    }
}
