@main
enum RouterHost {
    static func main() {}
}
