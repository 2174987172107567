/** The currentBuild global. */
class CurrentBuild {
    String result
    String description
    String displayName

    String getCurrentResult() {
        return result ?: 'SUCCESS'
    }
}
