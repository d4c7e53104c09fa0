// Child process for MemoryStore crash tests (filled in by the MemoryStore work).
@main
enum StoreCrashWriter {
    static func main() {}
}
