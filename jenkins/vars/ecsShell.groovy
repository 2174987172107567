// Shell command lines built from words, each one quoted, so that a value
// from a parameter or a JSON file is always exactly one argument and never
// shell syntax.

/** The words as one command line for the sh step, each single-quoted. */
String command(List words) {
    List quoted = []
    for (Object word in words) {
        quoted << quote(word.toString())
    }
    return quoted.join(' ')
}

/** One word in single quotes, with any single quote inside it escaped. */
String quote(String word) {
    return "'" + word.replace("'", "'\\''") + "'"
}
