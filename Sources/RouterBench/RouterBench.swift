@main
enum RouterBench {
    static func main() {}
}
