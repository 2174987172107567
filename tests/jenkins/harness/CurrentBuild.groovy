/** The currentBuild global. */
class CurrentBuild {
    String result
    String description
    String displayName
    /** When the build started; a timeout scenario starts it over an hour ago. */
    long startTimeInMillis = System.currentTimeMillis()
    /** The build's change sets: [[items: [[affectedPaths: [...]]]]]. */
    List changeSets = []
    /** The build's causes, as getBuildCauses() returns them: [[_class: ...]]. */
    List buildCauses = [[_class: 'hudson.model.Cause$UserIdCause']]

    String getCurrentResult() {
        return result ?: 'SUCCESS'
    }

    List getBuildCauses() {
        return buildCauses
    }
}
