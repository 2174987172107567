// The one line a build shows a person: in its log, and as its description
// on the job's page.

/** Echoes `line` and sets it as the build's description. */
void call(String line) {
    echo(line)
    currentBuild.description = line
}
