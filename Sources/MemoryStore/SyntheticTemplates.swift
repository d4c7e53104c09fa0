/// Hand-written templates and values behind ``SyntheticMemories``.
enum Templates {
    struct Draft {
        var text: String
        var tags: [String]
    }

    static let drinks = [
        "dark roast coffee", "green tea", "oolong tea", "flat whites", "cold brew", "sparkling water",
        "matcha lattes", "a single espresso", "masala chai", "rooibos in the evening", "pour-over coffee",
    ]
    static let dislikes = [
        "oat milk", "overly sweet drinks", "cilantro", "instant coffee", "energy drinks", "mushrooms", "olives",
        "very spicy food", "raisins", "blue cheese", "almond milk",
    ]
    static let cuisines = [
        "Thai", "Ethiopian", "Neapolitan pizza", "ramen", "Lebanese", "vegetarian Indian", "sushi", "Georgian",
        "Mexican street food", "Vietnamese", "Korean barbecue", "Sicilian",
    ]
    static let formats = [
        "bullet-point summaries", "short answers with the code first", "detailed explanations with examples",
        "tables when comparing options", "a TL;DR at the top", "step-by-step instructions",
        "plain text without emoji", "answers in British English",
    ]
    static let editors = ["Neovim", "VS Code", "Xcode", "Helix", "IntelliJ IDEA", "Emacs", "Zed"]
    static let themes = ["dark", "Solarized Light", "Gruvbox", "high-contrast", "Catppuccin", "Nord"]
    static let languages = ["Swift", "Rust", "Python", "TypeScript", "Go", "Kotlin", "Elixir", "C++"]
    static let spokenLanguages = ["Portuguese", "German", "Japanese", "Spanish", "French", "Italian", "Korean", "Dutch"]
    static let names = [
        "Maya", "Jonas", "Priya", "Tomás", "Aiko", "Lena", "Omar", "Sofia", "Daniel", "Chen Wei", "Fatima", "Lukas",
        "Amara", "Noah", "Zoë", "Mateo", "Ingrid", "Ravi", "Hannah", "Kwame",
    ]
    static let relations = [
        "sister", "brother", "manager", "partner", "colleague", "best friend", "mother", "father", "cousin",
        "neighbor", "mentor",
    ]
    static let cities = [
        "Lisbon", "Berlin", "Kyoto", "Toronto", "Nairobi", "Melbourne", "Zürich", "Austin", "São Paulo",
        "Copenhagen", "Seoul", "Edinburgh", "Montréal", "Oaxaca",
    ]
    static let projects = [
        "Atlas", "Beacon", "Cobalt", "Driftwood", "Ember", "Fathom", "Granite", "Helios", "Juniper", "Keystone",
        "Lumen", "Meridian",
    ]
    static let technologies = [
        "Postgres 16", "Kubernetes 1.30", "Swift 6", "React 19", "Kafka", "Redis 7", "gRPC", "Terraform",
        "ClickHouse", "SQLite", "OpenSearch", "Python 3.12", "GraphQL", "DuckDB",
    ]
    static let components = [
        "billing service", "search API", "onboarding flow", "mobile app", "data pipeline", "auth gateway",
        "admin dashboard", "notification service", "CI pipeline", "reporting job", "recommendation model",
    ]
    static let months = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
        "November", "December",
    ]
    static let weekdays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    static let hobbies = [
        "bouldering", "sourdough baking", "trail running", "chess", "watercolor painting", "birdwatching",
        "cycling", "piano", "woodworking", "salsa dancing", "film photography", "gardening",
    ]
    static let allergens = ["peanuts", "shellfish", "tree nuts", "gluten", "lactose", "sesame"]
    static let pets = [("dog", "Biscuit"), ("cat", "Miso"), ("dog", "Pepper"), ("cat", "Luna"), ("rabbit", "Clover"),
        ("parrot", "Kiwi"), ("dog", "Atlas"), ("cat", "Tofu")]
    static let jobs = [
        ("backend engineer", "a logistics startup"), ("product designer", "a fintech company"),
        ("data scientist", "a hospital network"), ("engineering manager", "a game studio"),
        ("site reliability engineer", "a streaming service"), ("iOS developer", "a travel app company"),
        ("research scientist", "a climate nonprofit"),
    ]
    static let timezones = ["Europe/Lisbon", "America/Toronto", "Asia/Tokyo", "Europe/Berlin", "America/Chicago", "Australia/Melbourne"]
    static let lessons = [
        "feature flags made the rollout painless", "load tests should run before the freeze, not after",
        "the on-call rotation needs a second person in the first week", "schema changes need a backfill plan",
        "we underestimated the data migration by two weeks", "pairing on the hard parts paid off",
    ]
    static let problems = [
        ("a flaky integration test suite", "quarantining the flaky tests and adding retries with logging"),
        ("too many meetings on Tuesdays", "blocking two focus hours every morning"),
        ("slow Docker builds", "ordering layers so dependencies are cached"),
        ("poor sleep before deadlines", "a fixed wind-down routine without screens after 10pm"),
        ("a noisy Slack channel", "muting it and reading a daily digest instead"),
        ("merge conflicts in the lockfile", "regenerating it in a single dedicated commit"),
    ]
    static let tones = ["friendly but firm", "formal", "brief and warm", "apologetic", "upbeat"]
    static let topics = [
        "the delayed invoice", "next quarter's roadmap", "a reference letter", "moving the offsite", "the new hire's onboarding",
        "splitting the rent", "the conference talk proposal",
    ]
    static let ingredients = ["chickpeas", "tofu", "salmon", "lentils", "halloumi", "shrimp", "eggplant", "gnocchi"]

    static func ordinal(_ n: Int) -> String {
        let suffix = (11...13).contains(n % 100) ? "th" : ["th", "st", "nd", "rd", "th", "th", "th", "th", "th", "th"][n % 10]
        return "\(n)\(suffix)"
    }

    static func day(_ random: inout SplitMix64) -> Int { random.int(1...28) }

    static func time(_ random: inout SplitMix64) -> String {
        let hour = random.int(8...18)
        return "\(hour):\(random.pick(["00", "15", "30", "45"]))"
    }

    /// One random memory.
    static func draw(_ random: inout SplitMix64) -> Draft {
        switch random.next(below: 100) {
        case 0..<24: preference(&random)
        case 24..<44: fact(&random)
        case 44..<68: project(&random)
        case 68..<88: conversation(&random)
        default: reminder(&random)
        }
    }

    static func preference(_ r: inout SplitMix64) -> Draft {
        switch r.next(below: 8) {
        case 0:
            return Draft(text: "User prefers \(r.pick(drinks)) and dislikes \(r.pick(dislikes)).", tags: ["preference", "food"])
        case 1:
            return Draft(text: "User likes \(r.pick(formats)) and finds long preambles annoying.", tags: ["preference", "communication"])
        case 2:
            return Draft(
                text: "Prefers \(r.pick(editors)) with a \(r.pick(themes)) theme; writes mostly \(r.pick(languages)) at work.",
                tags: ["preference", "coding"])
        case 3:
            return Draft(
                text: "Favourite cuisine is \(r.pick(cuisines)); avoid suggesting places that serve \(r.pick(dislikes)).",
                tags: ["preference", "food"])
        case 4:
            return Draft(
                text: "User does not want meetings scheduled before \(r.int(9...11)):00 or on \(r.pick(weekdays)) afternoons.",
                tags: ["preference", "schedule", "work"])
        case 5:
            switch r.next(below: 3) {
            case 0:
                return Draft(
                    text: "Prefers window seats and direct flights, even if they cost up to \(r.int(5...30) * 10) euros more.",
                    tags: ["preference", "travel"])
            case 1:
                return Draft(
                    text: "Likes small hotels within walking distance of \(r.pick(["the old town", "a train station", "the beach", "a park"])); never book hostels.",
                    tags: ["preference", "travel"])
            default:
                return Draft(
                    text: "Would rather take the train than fly for trips under \(r.int(4...7)) hours; \(r.pick(names)) usually comes along.",
                    tags: ["preference", "travel"])
            }
        case 6:
            return Draft(
                text: "Wants code reviews to focus on correctness first, naming second; dislikes nitpicks about \(r.pick(["formatting", "import order", "trailing commas"])).",
                tags: ["preference", "coding", "work"])
        default:
            return Draft(
                text: "Spends weekends \(r.pick(hobbies)); suggest activities around \(r.pick(hobbies)) when planning trips.",
                tags: ["preference", "hobby"])
        }
    }

    static func fact(_ r: inout SplitMix64) -> Draft {
        switch r.next(below: 8) {
        case 0:
            return Draft(text: "User's \(r.pick(relations)) \(r.pick(names)) lives in \(r.pick(cities)).", tags: ["fact", "family"])
        case 1:
            let (job, company) = r.pick(jobs)
            return Draft(text: "User works as a \(job) at \(company) and has been there for \(r.int(1...9)) years.", tags: ["fact", "work"])
        case 2:
            return Draft(
                text: "User is allergic to \(r.pick(allergens)); double-check recipes and restaurant suggestions.",
                tags: ["fact", "health"])
        case 3:
            let (pet, name) = r.pick(pets)
            return Draft(text: "User has a \(pet) named \(name) who is \(r.int(1...14)) years old.", tags: ["fact", "pets"])
        case 4:
            var second = r.pick(spokenLanguages)
            let first = r.pick(spokenLanguages)
            if second == first { second = "Mandarin" }
            return Draft(text: "User speaks \(first) natively and is learning \(second) on Duolingo.", tags: ["fact", "languages"])
        case 5:
            return Draft(text: "User's timezone is \(r.pick(timezones)); convert meeting times accordingly.", tags: ["fact", "schedule"])
        case 6:
            return Draft(
                text: "User runs \(r.int(5...21)) km every \(r.pick(weekdays)) morning and is training for a half marathon in \(r.pick(cities)).",
                tags: ["fact", "health", "hobby"])
        default:
            return Draft(
                text: "User moved to \(r.pick(cities)) in \(r.pick(months)) \(r.int(2019...2024)) and rents a flat near the old town.",
                tags: ["fact", "home"])
        }
    }

    static func project(_ r: inout SplitMix64) -> Draft {
        let project = r.pick(projects)
        let tags = ["project", project.lowercased(), "work"]
        switch r.next(below: 8) {
        case 0:
            return Draft(text: "Project \(project): migration to \(r.pick(technologies)) scheduled for \(r.pick(months)).", tags: tags)
        case 1:
            return Draft(
                text: "Project \(project): \(r.pick(names)) owns the \(r.pick(components)) rewrite; target date \(r.pick(months)) \(day(&r)).",
                tags: tags)
        case 2:
            return Draft(text: "Project \(project) standup moved to \(time(&r)) on \(r.pick(Array(weekdays.prefix(5))))s.", tags: tags + ["schedule"])
        case 3:
            var second = r.pick(technologies)
            let first = r.pick(technologies)
            if second == first { second = "the existing setup" }
            return Draft(
                text: "Project \(project): decided to use \(first) for the \(r.pick(components)) after benchmarking it against \(second).",
                tags: tags + ["decision"])
        case 4:
            return Draft(
                text: "Project \(project): budget approved for \(r.int(1...4)) more engineers in Q\(r.int(1...4)).",
                tags: tags + ["decision"])
        case 5:
            let target = r.int(2...8) * 50
            return Draft(
                text: "Project \(project): open risk, \(r.pick(components)) p99 latency is \(target + r.int(1...6) * 50) ms against a \(target) ms target.",
                tags: tags + ["risk"])
        case 6:
            return Draft(text: "Project \(project) retro: \(r.pick(lessons)).", tags: tags + ["retro"])
        default:
            return Draft(
                text: "Project \(project): the \(r.pick(components)) is blocked on a security review until \(r.pick(months)) \(day(&r)); \(r.pick(names)) is following up.",
                tags: tags + ["risk"])
        }
    }

    static func conversation(_ r: inout SplitMix64) -> Draft {
        switch r.next(below: 7) {
        case 0:
            return Draft(
                text: "User asked how to speed up a slow \(r.pick(technologies)) query; suggested a composite index and reading the query plan first.",
                tags: ["conversation", "coding"])
        case 1:
            let project = r.pick(projects)
            return Draft(
                text: "User: \"What did we decide about the \(r.pick(components))?\" Assistant: \"Ship it in Project \(project) behind a feature flag in \(r.pick(months)).\"",
                tags: ["conversation", "project", project.lowercased(), "work"])
        case 2:
            return Draft(
                text: "User asked for a \(r.pick(cuisines)) recipe under 30 minutes; shared one built around \(r.pick(ingredients)).",
                tags: ["conversation", "food"])
        case 3:
            let (problem, advice) = r.pick(problems)
            return Draft(text: "User vented about \(problem); suggested \(advice).", tags: ["conversation", "advice"])
        case 4:
            return Draft(
                text: "Discussed a trip to \(r.pick(cities)) in \(r.pick(months)): wants a quiet neighbourhood, good \(r.pick(["coffee", "bakeries", "hiking", "museums"])) and no car.",
                tags: ["conversation", "travel"])
        case 5:
            return Draft(
                text: "User asked to draft an email to \(r.pick(names)) about \(r.pick(topics)); tone should be \(r.pick(tones)).",
                tags: ["conversation", "writing"])
        default:
            return Draft(
                text: "User: \"Explain \(r.pick(["async/await", "ownership", "generics", "backpressure", "copy-on-write"])) in \(r.pick(languages)) like I'm new to it.\" Assistant gave a short example and a common pitfall.",
                tags: ["conversation", "coding", "learning"])
        }
    }

    static func reminder(_ r: inout SplitMix64) -> Draft {
        switch r.next(below: 5) {
        case 0:
            return Draft(text: "Reminder: \(r.pick(names))'s birthday is on \(r.pick(months)) \(day(&r)).", tags: ["reminder", "family"])
        case 1:
            return Draft(
                text: "Dentist appointment on \(r.pick(months)) \(day(&r)) at \(time(&r)); bring the insurance card.",
                tags: ["reminder", "health", "schedule"])
        case 2:
            return Draft(text: "Renew the passport before \(r.pick(months)) \(r.int(2024...2026)).", tags: ["reminder", "travel"])
        case 3:
            return Draft(
                text: "Pay the \(r.pick(["electricity", "internet", "gym", "phone", "water"])) bill by the \(ordinal(r.int(1...28))) of each month.",
                tags: ["reminder", "finance"])
        default:
            return Draft(
                text: "Follow up with \(r.pick(names)) about \(r.pick(topics)) next \(r.pick(weekdays)).",
                tags: ["reminder", "work"])
        }
    }
}
