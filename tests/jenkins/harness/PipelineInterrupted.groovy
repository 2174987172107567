/**
 * What a step throws when the build is aborted, by a person or by the
 * timeout option: Jenkins' FlowInterruptedException. The build ends
 * ABORTED, not FAILURE.
 */
class PipelineInterrupted extends RuntimeException {
    PipelineInterrupted(String message) {
        super(message)
    }
}
