/**
 * What readJSON returns for a JSON null without returnPojo: true (json-lib's
 * JSONNull), which, unlike null, is true in an if.
 */
class JsonLibNull {
    static final JsonLibNull INSTANCE = new JsonLibNull()

    @Override
    String toString() {
        return 'null'
    }
}
