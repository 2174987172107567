/** What the error step and a failing sh step throw: hudson.AbortException. */
class PipelineAbort extends RuntimeException {
    PipelineAbort(String message) {
        super(message)
    }
}
