import Foundation

/// One key–value row of a report's configuration summary.
public struct ConfigEntry: Sendable, Equatable {
    public var key: String
    public var value: String
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// A report section: a heading, a body of HTML (usually one figure) and a caption.
public struct ReportSection: Sendable, Equatable {
    public var heading: String
    /// Trusted HTML inserted verbatim, except that any SVG `xmlns` attribute is removed (``SVG/inline(_:)``);
    /// it must be well-formed XML for the report to stay XHTML-parseable.
    public var html: String
    public var caption: String

    public init(heading: String, html: String, caption: String = "") {
        self.heading = heading
        self.html = html
        self.caption = caption
    }

    /// A section holding an SVG figure; its `xmlns` attribute is removed (``SVG/inline(_:)``).
    public init(heading: String, svg: String, caption: String = "") {
        self.init(heading: heading, html: SVG.inline(svg), caption: caption)
    }
}

/// One row of a report's checks table: a claim of the paper and what this run measured.
public struct CheckRow: Sendable, Equatable {
    public var claim: String
    public var expected: String
    public var measured: String
    public var passed: Bool

    public init(claim: String, expected: String, measured: String, passed: Bool) {
        self.claim = claim
        self.expected = expected
        self.measured = measured
        self.passed = passed
    }
}

/// A link to a raw file of the run; `href` should be relative (e.g. "weights.safetensors").
public struct ReportLink: Sendable, Equatable {
    public var label: String
    public var href: String
    public init(label: String, href: String) {
        self.label = label
        self.href = href
    }
}

/// One row of ``HTMLReport/indexPage(title:entries:)``.
public struct IndexEntry: Sendable, Equatable {
    public var name: String
    /// Relative link to the report, e.g. "intro/report.html".
    public var href: String
    public var summary: String
    public var passed: Int
    public var failed: Int
    /// Whether the run used the reduced `--quick` settings.
    public var quick: Bool
    /// Relative link to the main figure (an SVG file), shown as a thumbnail; nil shows none.
    public var thumbnail: String?

    public init(name: String, href: String, summary: String, passed: Int, failed: Int, quick: Bool = false,
                thumbnail: String? = nil) {
        self.name = name
        self.href = href
        self.summary = summary
        self.passed = passed
        self.failed = failed
        self.quick = quick
        self.thumbnail = thumbnail
    }
}

/// A self-contained HTML5 report: inline CSS and SVG, no scripts or fonts fetched, no `http(s)://` text
/// added by the renderer. The output is also well-formed XML (XHTML syntax) when the section bodies are.
public struct HTMLReport: Sendable, Equatable {
    public var title: String
    public var subtitle: String
    public var configSummary: [ConfigEntry]
    public var sections: [ReportSection]
    /// nil omits the checks table.
    public var checks: [CheckRow]?
    public var links: [ReportLink]

    public init(title: String, subtitle: String = "", configSummary: [ConfigEntry] = [], sections: [ReportSection] = [],
                checks: [CheckRow]? = nil, links: [ReportLink] = []) {
        self.title = title
        self.subtitle = subtitle
        self.configSummary = configSummary
        self.sections = sections
        self.checks = checks
        self.links = links
    }

    /// Pass/FAIL colours of the checks table (also set inline on each cell).
    public static let passColor = "#1b7837"
    public static let failColor = "#c62828"

    /// The HTML document. Checks show "pass" in green and "FAIL" in red, after an "k of N checks pass" line.
    public func render() -> String {
        var body = "<h1>\(SVG.escape(title))</h1>\n"
        if !subtitle.isEmpty { body += "<p class=\"subtitle\">\(SVG.escape(subtitle))</p>\n" }
        if !configSummary.isEmpty {
            body += "<h2>Configuration</h2>\n<table class=\"config\">\n"
            for entry in configSummary { body += "<tr><th>\(SVG.escape(entry.key))</th><td>\(SVG.escape(entry.value))</td></tr>\n" }
            body += "</table>\n"
        }
        if let checks {
            let passed = checks.filter(\.passed).count
            body += "<h2>Checks against the paper</h2>\n<p>\(passed) of \(checks.count) checks pass.</p>\n"
            body += "<table class=\"checks\">\n<tr><th>claim</th><th>expected</th><th>measured</th><th>result</th></tr>\n"
            for check in checks {
                body += "<tr><td>\(Self.userText(check.claim))</td><td>\(Self.userText(check.expected))</td>"
                body += "<td>\(Self.userText(check.measured))</td>\(Self.verdictCell(check.passed))</tr>\n"
            }
            body += "</table>\n"
        }
        for section in sections {
            body += "<section>\n<h2>\(Self.userText(section.heading))</h2>\n<figure>\n\(SVG.inline(section.html))\n"
            if !section.caption.isEmpty { body += "<figcaption>\(Self.userText(section.caption))</figcaption>\n" }
            body += "</figure>\n</section>\n"
        }
        if !links.isEmpty {
            body += "<h2>Files</h2>\n<ul>\n"
            for link in links { body += "<li><a href=\"\(SVG.escape(link.href))\">\(SVG.escape(link.label))</a></li>\n" }
            body += "</ul>\n"
        }
        return Self.document(title: title, body: body)
    }

    /// A page linking several reports: thumbnail of the main figure (when given), name (linked), settings
    /// ("quick" or "full"), summary, and "k of N" checks passed per report, failures in red.
    public static func indexPage(title: String, entries: [IndexEntry]) -> String {
        let quickCount = entries.filter(\.quick).count
        var body = "<h1>\(SVG.escape(title))</h1>\n"
        if quickCount > 0 {
            body += "<p class=\"subtitle\">\(quickCount) of \(entries.count) runs used the reduced --quick settings "
                + "(fewer steps, coarser grids): they show the qualitative result, not the paper's full figures.</p>\n"
        }
        let passed = entries.map(\.passed).reduce(0, +), total = entries.map { $0.passed + $0.failed }.reduce(0, +)
        body += "<p>\(passed) of \(total) checks pass.</p>\n<table class=\"checks\">\n"
        body += "<tr><th>figure</th><th>report</th><th>settings</th><th>summary</th><th>checks passed</th></tr>\n"
        for entry in entries {
            let failStyle = entry.failed > 0 ? " class=\"fail\" style=\"color:\(failColor);font-weight:bold\"" : " class=\"pass\""
            let thumbnail = entry.thumbnail.map {
                "<a href=\"\(SVG.escape(entry.href))\"><img class=\"thumbnail\" src=\"\(SVG.escape($0))\" alt=\"main figure of \(SVG.escape(entry.name))\" width=\"200\"/></a>"
            } ?? ""
            body += "<tr><td>\(thumbnail)</td><td><a href=\"\(SVG.escape(entry.href))\">\(SVG.escape(entry.name))</a></td>"
            body += "<td>\(entry.quick ? "quick" : "full")</td><td>\(SVG.escape(entry.summary))</td>"
            body += "<td\(failStyle)>\(entry.passed) of \(entry.passed + entry.failed)</td></tr>\n"
        }
        return document(title: title, body: body + "</table>\n")
    }

    /// Text a reader sees (headings, captions, checks) as escaped HTML: `W_i` and `Σ_{j≠i}` with real
    /// `<sub>`/`<sup>`, and references to the former development specification ("(SPEC§8)", ", SPEC§5", with or
    /// without a space) removed: runs stored before docs/ existed still carry them in checks.json, and a report
    /// must not point at files outside the repository.
    static func userText(_ text: String) -> String {
        var plain = text
        // Only such old texts contain "SPEC" (the regular expressions cost more than the rest of a report).
        if plain.utf8.firstRange(of: "SPEC".utf8) != nil {
            for pattern in [#"\s*\(SPEC\s*§[0-9.]+\)"#, #",?\s*SPEC\s*§[0-9.]+"#] {
                plain = plain.replacingOccurrences(of: pattern, with: "", options: .regularExpression)
            }
        }
        return SVG.richHTML(plain)
    }

    static func verdictCell(_ passed: Bool) -> String {
        passed ? "<td class=\"pass\" style=\"color:\(passColor);font-weight:bold\">pass</td>"
            : "<td class=\"fail\" style=\"color:\(failColor);font-weight:bold\">FAIL</td>"
    }

    static func document(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title>\(SVG.escape(title))</title>
        <style>
        body { font-family: Helvetica, Arial, sans-serif; max-width: 1150px; margin: 2em auto; padding: 0 1em; color: #222; }
        h1 { margin-bottom: 0.2em; }
        .subtitle { color: #555; margin-top: 0; }
        table { border-collapse: collapse; margin: 0.8em 0; }
        th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
        th { background: #f4f4f4; }
        figure { margin: 1em 0 2em 0; }
        figcaption { color: #444; font-size: 0.9em; max-width: 900px; }
        svg { max-width: 100%; height: auto; }
        img.thumbnail { max-height: 140px; width: 200px; object-fit: contain; border: 1px solid #ddd; }
        .pass { color: \(passColor); font-weight: bold; }
        .fail { color: \(failColor); font-weight: bold; }
        </style>
        </head>
        <body>
        \(body)</body>
        </html>

        """
    }
}
