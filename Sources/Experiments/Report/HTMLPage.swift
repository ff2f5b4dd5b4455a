/// What the self-contained HTML reports (`srgnn compare`, `srgnn tune`) share, so they look alike
/// and escape alike.
public enum HTMLPage {
    /// The start of a page titled `title`, with the common style sheet and `style` (the page's own
    /// rules) after it; the body follows.
    public static func head(title: String, style: String = "") -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>
        body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em; color: #222; }
        h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 2em; }
        table { border-collapse: collapse; font-size: 0.9em; }
        th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
        th:first-child, td:first-child { text-align: left; }
        th { background: #f3f3f3; }
        .note { color: #666; font-size: 0.85em; }
        \(style)</style></head><body>

        """
    }

    /// `text` safe inside elements and quoted attribute values.
    public static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
